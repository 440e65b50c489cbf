public import Connectors

extension ConnectorCatalog {
    /// The connector types of the product, each with the fields it takes and its source.
    public static let product = ConnectorCatalog(kinds: [
        .apiRest: ConnectorKind(schema: RESTSource.schema) { config, context throws(ConnectorError) in
            try RESTSource(config: config, context: context)
        },
        .simpleCSV: ConnectorKind(schema: CSVSource.schema) { config, context throws(ConnectorError) in
            try CSVSource(config: config, context: context)
        },
        .localFile: ConnectorKind(schema: LocalFileSource.schema) { config, context throws(ConnectorError) in
            try LocalFileSource(config: config, context: context)
        },
        .postgresql: ConnectorKind(schema: PostgresSource.schema) { config, context throws(ConnectorError) in
            try PostgresSource(config: config, context: context)
        },
    ])
}
