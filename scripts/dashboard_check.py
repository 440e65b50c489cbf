#!/usr/bin/env python3
"""Real-browser check of the api's dashboard (`GET /`) in headless Chromium (Selenium).

Run by scripts/dashboard-check.sh against a live api; usable alone:

    python3 scripts/dashboard_check.py --url http://127.0.0.1:8080/ [--database data.db]
        [--mode full|no-charts|no-data] [--screenshot Tests/dashboard/dashboard.png]

Modes:
  full       the api has data and Chart.js: rows render, filters filter, charts draw,
             no personal data in the page, a full-page screenshot is saved.
  no-charts  /assets/chart.js is missing: the page says charts are unavailable and the
             tables still render.
  no-data    the database does not exist yet (503): the page shows its "no data yet" state.
  token      the api has API_TOKEN=--token: the page asks for it, refuses a wrong one, shows
             the data with the right one and keeps it in sessionStorage.

The last line printed is `N passed, M failed`; the exit status is non-zero on any failure.
"""

import argparse
import base64
import json
import os
import re
import sqlite3
import sys
import time
import traceback
from urllib.parse import parse_qs

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 20


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return bool(condition)

    def run(self, name, function):
        """Runs a group of checks; an exception (timeout, missing element) is one failure."""
        try:
            function()
        except Exception as error:  # noqa: BLE001 - report and keep checking
            self.failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
            if os.environ.get("DASHBOARD_CHECK_DEBUG"):
                traceback.print_exc()


def make_driver(args):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for argument in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--window-size=1440,900", "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(args.chromedriver))


# ---- page helpers --------------------------------------------------------------------------

def wait_table(driver, table_id, expect_query=None, timeout=TIMEOUT):
    """Waits until the table finished a request (and, if given, one whose query string has
    every `key=value` of expect_query, or lacks the key when the value is None)."""
    def settled(d):
        state = d.execute_script(
            "var t=document.getElementById(arguments[0]);"
            "return t ? [t.getAttribute('data-state'), t.getAttribute('data-query') || ''] : null;", table_id)
        if not state or state[0] not in ("ready", "empty", "error"):
            return False
        if expect_query:
            query = {k: v[-1] for k, v in parse_qs(state[1].lstrip("?"), keep_blank_values=True).items()}
            for key, value in expect_query.items():
                if value is None:
                    if key in query:
                        return False
                elif query.get(key) != str(value):
                    return False
        return state[0]
    return WebDriverWait(driver, timeout).until(settled)


def rows(driver, table_id):
    return driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr:not(.empty-row)")


def attr_values(driver, table_id, attribute):
    return driver.execute_script(
        "var name = arguments[1];"
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr:not(.empty-row)'))"
        ".map(function (r) { return r.getAttribute(name); });", table_id, attribute)


def count_of(driver, element_id):
    """The number in a count label like "1,234 rows"."""
    text = driver.find_element(By.ID, element_id).text
    match = re.search(r"([\d,]+)", text)
    return int(match.group(1).replace(",", "")) if match else None


def choose(driver, select_id, value):
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def option_values(driver, select_id):
    return [(o.get_attribute("value"), o.text) for o in
            Select(driver.find_element(By.ID, select_id)).options if o.get_attribute("value")]


def label_count(label):
    match = re.search(r"\(([\d,]+)\)\s*$", label)
    return int(match.group(1).replace(",", "")) if match else None


def body_text(driver):
    return driver.execute_script("return document.body.innerText")


def severe_console_errors(driver, allow=()):
    try:
        entries = driver.get_log("browser")
    except Exception:  # noqa: BLE001 - some drivers have no log endpoint
        return []
    return [e["message"] for e in entries
            if e.get("level") == "SEVERE" and not any(a in e["message"] for a in allow)]


def full_page_screenshot(driver, path):
    """Grows the window to the page's height (Chart.js redraws its responsive charts), waits
    until no chart is animating, then captures the whole page."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        time.sleep(0.2)
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("""
            if (!window.Chart || !window.Chart.animator) return true;
            return Object.values(window.Chart.instances || {}).every(function (c) { return !window.Chart.animator.running(c); });
        """))
        time.sleep(0.2)
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    with open(path, "wb") as handle:
        handle.write(base64.b64decode(shot["data"]))
    return path


def canvas_state(driver, canvas_id):
    """[data-rendered, differs from a blank canvas of the same size, width, height, points drawn]."""
    return driver.execute_script("""
        var c = document.getElementById(arguments[0]);
        if (!c) return null;
        var blank = document.createElement('canvas');
        blank.width = c.width; blank.height = c.height;
        var chart = window.Chart && window.Chart.getChart ? window.Chart.getChart(c) : null;
        var points = chart ? chart.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0) : 0;
        return [c.getAttribute('data-rendered'), c.toDataURL() !== blank.toDataURL(), c.width, c.height, points];
    """, canvas_id)


# ---- personal data ---------------------------------------------------------------------------

SECRET_KEYS = ("password", "ssn", "cardNumber", "iban")


def secret_values(database, limit=2000):
    """Password, SSN, card number and IBAN values of raw records in the database (which the
    api must never show), for looking for them in the page."""
    if not database or not os.path.exists(database):
        return set()
    found = set()
    uri = "file:" + os.path.abspath(database) + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as connection:
        try:
            records = connection.execute("SELECT record FROM raw_users LIMIT ?", (limit,)).fetchall()
        except sqlite3.Error:
            return found

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in SECRET_KEYS and isinstance(inner, (str, int)) and len(str(inner)) >= 6:
                    found.add(str(inner))
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for (record,) in records:
        try:
            walk(json.loads(record))
        except (TypeError, ValueError):
            pass
    return found


# ---- the checks --------------------------------------------------------------------------------

def check_full(driver, args, c):
    driver.get(args.url)
    c.check("page title", "ETL" in driver.title, driver.title)
    c.check("Chart.js loaded from the api", driver.execute_script("return typeof window.Chart === 'function'"))

    # Runs -------------------------------------------------------------------------------------
    def runs():
        state = wait_table(driver, "runs-table")
        all_rows = rows(driver, "runs-table")
        c.check("runs table has rows", state == "ready" and len(all_rows) > 0, f"state={state} rows={len(all_rows)}")
        header = driver.find_element(By.CSS_SELECTOR, "#runs-table thead th select#runs-status-filter")
        c.check("status filter sits in the runs table header", header is not None)
        statuses = attr_values(driver, "runs-table", "data-status")
        total = count_of(driver, "runs-count")
        present = sorted(set(statuses), key=statuses.index)
        chosen = present[-1] if present else "completed"
        choose(driver, "runs-status-filter", chosen)
        wait_table(driver, "runs-table", {"status": chosen})
        filtered = attr_values(driver, "runs-table", "data-status")
        c.check(f"status filter '{chosen}' shows only such runs",
                len(filtered) > 0 and all(s == chosen for s in filtered), f"{filtered}")
        c.check("status filter count matches the rows with that status",
                count_of(driver, "runs-count") == statuses.count(chosen) or total > len(statuses),
                f"count={count_of(driver, 'runs-count')} expected={statuses.count(chosen)}")
        absent = [v for v, _ in option_values(driver, "runs-status-filter") if v not in present]
        if absent:
            choose(driver, "runs-status-filter", absent[0])
            state = wait_table(driver, "runs-table", {"status": absent[0]})
            c.check(f"status filter '{absent[0]}' (no such run) shows no rows",
                    state == "empty" and len(rows(driver, "runs-table")) == 0, f"state={state}")
        choose(driver, "runs-status-filter", "")
        wait_table(driver, "runs-table", {"status": None})
        c.check("clearing the status filter shows all runs again", len(rows(driver, "runs-table")) == len(all_rows))
    c.run("runs table", runs)

    # Users ------------------------------------------------------------------------------------
    def users():
        state = wait_table(driver, "users-table")
        first_page = rows(driver, "users-table")
        total = count_of(driver, "users-count")
        c.check("users table has rows", state == "ready" and len(first_page) > 0, f"state={state}")
        options = option_values(driver, "users-department-filter")
        c.check("department filter offers departments (from /stats)", len(options) > 1, f"{options}")
        driver.find_element(By.CSS_SELECTOR, "#users-table thead th select#users-department-filter")
        value, label = max(options, key=lambda o: label_count(o[1]) or 0)
        choose(driver, "users-department-filter", value)
        wait_table(driver, "users-table", {"department": value})
        departments = attr_values(driver, "users-table", "data-department")
        filtered_total = count_of(driver, "users-count")
        c.check(f"department filter '{value}' shows only that department",
                len(departments) > 0 and all(d == value for d in departments), f"{set(departments)}")
        c.check("department filter reduces the users", filtered_total is not None and filtered_total < total,
                f"{filtered_total} of {total}")
        c.check("filtered count equals the department's count in /stats",
                filtered_total == label_count(label), f"{filtered_total} vs {label}")
        choose(driver, "users-department-filter", "")
        wait_table(driver, "users-table", {"department": None})
        c.check("clearing the department filter restores the users", count_of(driver, "users-count") == total)
        if total > len(first_page):
            first_ids = attr_values(driver, "users-table", "data-run-id"), [r.text for r in rows(driver, "users-table")[:3]]
            driver.find_element(By.ID, "users-next").click()
            wait_table(driver, "users-table", {"offset": str(len(first_page))})
            page = driver.find_element(By.ID, "users-page").text
            second = [r.text for r in rows(driver, "users-table")[:3]]
            c.check("users paging: next shows the following rows",
                    second != first_ids[1] and page.startswith(f"{len(first_page) + 1:,}"), page)
            driver.find_element(By.ID, "users-prev").click()
            wait_table(driver, "users-table", {"offset": "0"})
    c.run("users table", users)

    # DLQ --------------------------------------------------------------------------------------
    def dlq():
        state = wait_table(driver, "dlq-table")
        total = count_of(driver, "dlq-count")
        c.check("DLQ table has rows", state == "ready" and len(rows(driver, "dlq-table")) > 0, f"state={state}")
        options = option_values(driver, "dlq-error-filter")
        c.check("error-code filter offers codes (from /stats)", len(options) > 0, f"{options}")
        driver.find_element(By.CSS_SELECTOR, "#dlq-table thead th select#dlq-error-filter")
        value, label = min(options, key=lambda o: label_count(o[1]) or 0)
        choose(driver, "dlq-error-filter", value)
        wait_table(driver, "dlq-table", {"error_code": value})
        codes = attr_values(driver, "dlq-table", "data-error-codes")
        filtered_total = count_of(driver, "dlq-count")
        c.check(f"error-code filter '{value}' shows only rows with that code",
                len(codes) > 0 and all(value in (cs or "").split() for cs in codes), f"{codes[:5]}")
        c.check("error-code filter count equals the code's count in /stats",
                filtered_total == label_count(label), f"{filtered_total} vs {label}")
        c.check("error-code filter reduces the DLQ rows (or all rows carry it)",
                filtered_total is not None and filtered_total <= total, f"{filtered_total} of {total}")
        choose(driver, "dlq-error-filter", "")
        wait_table(driver, "dlq-table", {"error_code": None})
    c.run("DLQ table", dlq)

    # Charts -----------------------------------------------------------------------------------
    def charts():
        for canvas in ("chart-runs", "chart-departments"):
            try:
                WebDriverWait(driver, TIMEOUT).until(
                    lambda d: d.find_element(By.ID, canvas).get_attribute("data-rendered") == "true")
            except TimeoutException:
                pass
            rendered, differs, width, height, points = canvas_state(driver, canvas)
            c.check(f"#{canvas} drawn by Chart.js (data-rendered)", rendered == "true", f"data-rendered={rendered}")
            c.check(f"#{canvas} is not blank ({width}x{height}, {points} data points)",
                    differs and width > 0 and height > 0 and points > 0)
    c.run("charts", charts)

    # Privacy and console --------------------------------------------------------------------------
    def privacy():
        text = body_text(driver)
        c.check("no 'password' in the page text", "password" not in text.lower())
        secrets = secret_values(args.database)
        leaked = sorted(s for s in secrets if s in text)
        c.check(f"no raw password/SSN/card/IBAN value in the page ({len(secrets)} known values)",
                not leaked, f"{leaked[:3]}")
        c.check("no SSN-shaped or card-number-shaped strings in the page",
                not re.search(r"\b\d{3}-\d{2}-\d{4}\b|\b(?:\d[ -]?){13,19}\b", text))
        errors = severe_console_errors(driver)
        c.check("no errors in the browser console", not errors, "; ".join(errors[:3]))
    c.run("privacy", privacy)

    def screenshot():
        driver.execute_script("window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur();")
        time.sleep(0.3)
        path = full_page_screenshot(driver, args.screenshot)
        c.check(f"screenshot saved to {path}", os.path.getsize(path) > 10_000)
    c.run("screenshot", screenshot)


def check_no_charts(driver, args, c):
    driver.get(args.url)
    def body():
        state = wait_table(driver, "runs-table")
        c.check("without Chart.js: runs table still has rows", state == "ready" and len(rows(driver, "runs-table")) > 0)
        state = wait_table(driver, "users-table")
        c.check("without Chart.js: users table still has rows", state == "ready" and len(rows(driver, "users-table")) > 0)
        c.check("without Chart.js: window.Chart is undefined",
                driver.execute_script("return typeof window.Chart === 'undefined'"))
        message = driver.find_element(By.ID, "chart-runs-msg").text
        c.check("without Chart.js: the page says charts are unavailable",
                "charts unavailable" in message.lower() and "libjs-chart.js" in message, message)
        if args.screenshot:
            full_page_screenshot(driver, args.screenshot)
    c.run("no-charts", body)


def check_no_data(driver, args, c):
    driver.get(args.url)
    def body():
        state = wait_table(driver, "runs-table")
        c.check("without a database: runs table settles on an error state", state == "error", state)
        notice = WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_element(By.ID, "notice").text)
        c.check("without a database: a friendly 'no data yet' notice", "no data yet" in notice.lower(), notice)
        c.check("without a database: no raw error JSON in the page", '"error"' not in body_text(driver))
        if args.screenshot:
            full_page_screenshot(driver, args.screenshot)
    c.run("no-data", body)


def check_token(driver, args, c):
    driver.get(args.url)
    def body():
        page = driver.execute_script("return document.getElementById('runs-table') !== null")
        c.check("with API_TOKEN: the page itself loads without a token", page,
                "GET / answered without the dashboard (is / exempt from the token?)")
        if not page:
            return
        state = wait_table(driver, "runs-table")
        c.check("with API_TOKEN: no rows before a token is given",
                state == "error" and not rows(driver, "runs-table"), state)
        form = driver.find_element(By.ID, "token-form")
        c.check("with API_TOKEN: the token form is shown", form.is_displayed())
        notice = driver.find_element(By.ID, "notice").text
        c.check("with API_TOKEN: the page says authorization is required", "authorization" in notice.lower(), notice)

        def submit(token):
            field = driver.find_element(By.ID, "token-input")
            field.clear()
            field.send_keys(token)
            driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()

        submit(args.token + "-wrong")
        WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_element(By.ID, "token-form").is_displayed())
        state = wait_table(driver, "runs-table")
        c.check("with API_TOKEN: a wrong token is refused (form shown again)",
                state == "error" and driver.find_element(By.ID, "token-form").is_displayed(), state)
        submit(args.token)
        WebDriverWait(driver, TIMEOUT).until(lambda d: rows(d, "runs-table"))
        state = wait_table(driver, "runs-table")
        c.check("with API_TOKEN: the right token shows the runs", state == "ready" and rows(driver, "runs-table"))
        wait_table(driver, "users-table")
        c.check("with API_TOKEN: and the users", len(rows(driver, "users-table")) > 0)
        c.check("with API_TOKEN: the token is kept in sessionStorage",
                driver.execute_script("return sessionStorage.getItem('etl-api-token')") == args.token)
        driver.refresh()
        state = wait_table(driver, "runs-table")
        c.check("with API_TOKEN: after a reload the stored token is used",
                state == "ready" and not driver.find_element(By.ID, "token-form").is_displayed(), state)
    c.run("token", body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the dashboard URL (the api's /)")
    parser.add_argument("--mode", choices=("full", "no-charts", "no-data", "token"), default="full")
    parser.add_argument("--token", default="dashboard-check-token", help="the api's API_TOKEN (mode token)")
    parser.add_argument("--database", help="the api's database, to look for raw secrets in the page")
    parser.add_argument("--screenshot", default="Tests/dashboard/dashboard.png")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    args = parser.parse_args()

    c = Checks()
    driver = None
    try:
        driver = make_driver(args)
        {"full": check_full, "no-charts": check_no_charts, "no-data": check_no_data,
         "token": check_token}[args.mode](driver, args, c)
    except Exception as error:  # noqa: BLE001 - a browser that does not start is a failure too
        c.failed += 1
        print(f"FAIL {args.mode}: {type(error).__name__}: {error}")
    finally:
        if driver is not None:
            driver.quit()
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 and c.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
