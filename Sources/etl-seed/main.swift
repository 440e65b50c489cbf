print("etl-seed: not built yet")
