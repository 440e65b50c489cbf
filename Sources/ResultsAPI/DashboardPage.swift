// The dashboard page served at `GET /`: one self-contained document (no build step, no CDN),
// vanilla JavaScript over the JSON API. Its only other resource is `assets/chart.js` (same
// origin); when that is missing the charts say so and the tables still work.
//
// Stable hooks for tests: `#runs-table`, `#runs-status-filter`, `#users-table`,
// `#users-department-filter`, `#dlq-table`, `#dlq-error-filter`, `#chart-runs`,
// `#chart-departments` (each canvas gets `data-rendered="true"` once Chart.js drew it), and
// on every table `data-state` (`loading`, `ready`, `empty`, `error`) and `data-query` (the
// query string of the request it shows).

extension Dashboard {
    /// The complete HTML document.
    public static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>ETL pipeline — results</title>
<link rel="icon" href="data:,">
<style>
  :root {
    --bg: #f4f6f9; --panel: #ffffff; --ink: #1d2433; --muted: #5c6678; --line: #e1e5ec;
    --head: #f8f9fb; --accent: #2f6fdf; --ok: #1f8a4c; --ok-bg: #e3f4ea; --bad: #c23b3b;
    --bad-bg: #fbe7e7; --warn: #9a6200; --warn-bg: #fdf1d8; --run: #2f5fb3; --run-bg: #e4ecfb;
  }
  * { box-sizing: border-box; }
  html { font-size: 15px; }
  body { margin: 0; background: var(--bg); color: var(--ink);
         font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
         line-height: 1.4; }
  header.top { background: #1d2433; color: #fff; }
  header.top .inner { max-width: 1360px; margin: 0 auto; padding: 14px 24px; display: flex;
                      align-items: center; gap: 16px; flex-wrap: wrap; }
  header.top h1 { font-size: 1.25rem; margin: 0; font-weight: 600; letter-spacing: .01em; }
  header.top .sub { color: #aab4c8; font-size: .9rem; }
  header.top .spacer { flex: 1; }
  header.top button { background: transparent; color: #fff; border: 1px solid #56627a; }
  header.top button:hover { background: #2c3549; }
  main { max-width: 1360px; margin: 0 auto; padding: 18px 24px 40px; }
  button { font: inherit; font-size: .9rem; padding: 5px 12px; border-radius: 6px; cursor: pointer;
           border: 1px solid var(--line); background: var(--panel); color: var(--ink); }
  button:hover:not(:disabled) { border-color: var(--accent); }
  button:disabled { opacity: .45; cursor: default; }
  :focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  .notice { border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; border: 1px solid; }
  .notice.info { background: var(--run-bg); border-color: #c3d3f3; color: #1f3f7a; }
  .notice.warn { background: var(--warn-bg); border-color: #f0d9a6; color: #6b4700; }
  .notice.error { background: var(--bad-bg); border-color: #efc2c2; color: #7d2222; }
  .notice strong { display: block; margin-bottom: 2px; }
  #token-form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; background: var(--panel);
                border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
  #token-form[hidden] { display: none; }
  #token-form input { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 320px; }
  .kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px; margin-bottom: 16px; }
  .kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
  .kpi .label { color: var(--muted); font-size: .82rem; text-transform: uppercase; letter-spacing: .05em; }
  .kpi .value { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
  .kpi .value.ok { color: var(--ok); } .kpi .value.bad { color: var(--bad); }
  .grid2 { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; margin-bottom: 16px; }
  section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
                  padding: 14px 16px 12px; margin-bottom: 16px; min-width: 0; }
  .grid2 section.panel { margin-bottom: 0; }
  .panel-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 10px; }
  .panel-head h2 { font-size: 1.05rem; margin: 0; }
  .panel-head .count { color: var(--muted); font-size: .9rem; }
  .panel-head .spacer { flex: 1; }
  .panel-head label.inline { font-size: .88rem; color: var(--muted); }
  .chart-box { position: relative; height: 280px; }
  .chart-box canvas { display: block; }
  .chart-box[hidden] { display: none; }
  .panel-msg { color: var(--muted); font-size: .92rem; padding: 10px 2px; }
  .panel-msg.error { color: var(--bad); }
  .panel-msg:empty { display: none; }
  .table-wrap { overflow: auto; max-height: 560px; border: 1px solid var(--line); border-radius: 8px; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  caption { text-align: left; }
  .visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
                     clip: rect(0 0 0 0); white-space: nowrap; }
  thead th { position: sticky; top: 0; z-index: 1; background: var(--head); text-align: left;
             font-weight: 600; color: #3a4457; padding: 8px 10px; border-bottom: 1px solid var(--line);
             white-space: nowrap; vertical-align: bottom; }
  thead th.filter label { display: block; margin-bottom: 3px; }
  .panel-head select, thead th select { font: inherit; font-size: .85rem; font-weight: normal; padding: 3px 6px; max-width: 210px;
                    border: 1px solid #c9cfda; border-radius: 6px; background: #fff; color: var(--ink); }
  .panel-head select { max-width: 260px; }
  .panel-head select.active, thead th select.active { border-color: var(--accent); box-shadow: 0 0 0 2px #d6e3fb; }
  tbody td { padding: 7px 10px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
  tbody tr:nth-child(even) td { background: #fafbfc; }
  tbody tr:hover td { background: #f0f5ff; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .84rem; white-space: nowrap; }
  td.nowrap { white-space: nowrap; }
  td.reason { min-width: 260px; color: #434c5e; }
  td.err { max-width: 320px; color: var(--bad); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  td.empty { text-align: center; color: var(--muted); padding: 22px; background: #fff !important; }
  table[data-state="loading"] tbody { opacity: .5; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .8rem; font-weight: 600;
           background: var(--run-bg); color: var(--run); white-space: nowrap; }
  .badge.completed { background: var(--ok-bg); color: var(--ok); }
  .badge.failed { background: var(--bad-bg); color: var(--bad); }
  .badge.upload_pending { background: var(--warn-bg); color: var(--warn); }
  .code { margin-left: 6px; color: var(--muted); font-size: .76rem;
          font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .chip { display: inline-block; margin: 1px 4px 1px 0; padding: 0 7px; border-radius: 4px; font-size: .78rem;
          background: var(--bad-bg); color: var(--bad); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .bar { display: inline-block; width: 60px; height: 8px; border-radius: 4px; background: var(--bad-bg);
         vertical-align: middle; margin-left: 6px; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: var(--ok); }
  .pager[hidden] { display: none; }
  .pager { display: flex; align-items: center; gap: 10px; justify-content: flex-end; padding-top: 10px;
           font-size: .88rem; color: var(--muted); }
  footer { color: var(--muted); font-size: .82rem; text-align: center; padding: 8px 0 24px; }
  @media (max-width: 1000px) {
    .grid2 { grid-template-columns: minmax(0, 1fr); }
    .grid2 section.panel { margin-bottom: 0; }
    .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  }
</style>
<script src="assets/chart.js"></script>
</head>
<body>
<header class="top">
  <div class="inner">
    <h1>ETL pipeline results</h1>
    <span class="sub" id="last-updated" aria-live="polite"></span>
    <span class="spacer"></span>
    <button type="button" id="refresh">Refresh</button>
    <button type="button" id="token-toggle" aria-controls="token-form" aria-expanded="false">API token</button>
  </div>
</header>
<main>
  <form id="token-form" hidden>
    <label for="token-input">API token</label>
    <input id="token-input" name="token" type="password" autocomplete="off" placeholder="paste the token (kept for this tab only)">
    <button type="submit">Use token</button>
    <button type="button" id="token-clear">Forget token</button>
  </form>
  <div id="notice" role="status" aria-live="polite"></div>

  <div class="kpis" aria-label="Totals">
    <div class="kpi"><div class="label">Runs</div><div class="value" id="kpi-runs">–</div></div>
    <div class="kpi"><div class="label">Valid records</div><div class="value ok" id="kpi-valid">–</div></div>
    <div class="kpi"><div class="label">Invalid records (DLQ)</div><div class="value bad" id="kpi-invalid">–</div></div>
    <div class="kpi"><div class="label">Departments</div><div class="value" id="kpi-departments">–</div></div>
  </div>

  <div class="grid2">
    <section class="panel" aria-labelledby="chart-runs-title">
      <div class="panel-head"><h2 id="chart-runs-title">Valid vs invalid records per run</h2></div>
      <p class="panel-msg" id="chart-runs-msg"></p>
      <div class="chart-box"><canvas id="chart-runs" role="img" aria-label="Stacked bar chart of valid and invalid records per run"></canvas></div>
    </section>
    <section class="panel" aria-labelledby="chart-departments-title">
      <div class="panel-head"><h2 id="chart-departments-title">Users per department</h2></div>
      <p class="panel-msg" id="chart-departments-msg"></p>
      <div class="chart-box"><canvas id="chart-departments" role="img" aria-label="Bar chart of valid users per department"></canvas></div>
    </section>
  </div>

  <section class="panel" id="runs-panel" aria-labelledby="runs-title">
    <div class="panel-head">
      <h2 id="runs-title">Runs</h2><span class="count" id="runs-count" aria-live="polite"></span>
    </div>
    <p class="panel-msg" id="runs-msg" role="status"></p>
    <div class="table-wrap">
      <table id="runs-table" data-state="loading" aria-labelledby="runs-title">
        <thead><tr>
          <th scope="col">Run</th>
          <th scope="col">Started (UTC)</th>
          <th scope="col" class="filter"><label for="runs-status-filter">Status</label>
            <select id="runs-status-filter"><option value="">All statuses</option></select></th>
          <th scope="col" class="num">Extracted</th>
          <th scope="col" class="num">Valid</th>
          <th scope="col" class="num">Invalid</th>
          <th scope="col">Valid share</th>
          <th scope="col" class="num">Files uploaded</th>
          <th scope="col">Error</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="pager" id="runs-pager">
      <button type="button" id="runs-prev">‹ Previous</button><span id="runs-page"></span><button type="button" id="runs-next">Next ›</button>
    </div>
  </section>

  <section class="panel" id="users-panel" aria-labelledby="users-title">
    <div class="panel-head">
      <h2 id="users-title">Processed users</h2><span class="count" id="users-count" aria-live="polite"></span>
      <span class="spacer"></span>
      <label class="inline" for="users-run-filter">Run</label>
      <select id="users-run-filter"><option value="">All runs</option></select>
    </div>
    <p class="panel-msg" id="users-msg" role="status"></p>
    <div class="table-wrap">
      <table id="users-table" data-state="loading" aria-labelledby="users-title">
        <thead><tr>
          <th scope="col" class="num">User</th>
          <th scope="col">Name</th>
          <th scope="col">Email</th>
          <th scope="col" class="num">Age</th>
          <th scope="col" class="filter"><label for="users-department-filter">Department</label>
            <select id="users-department-filter"><option value="">All departments</option></select></th>
          <th scope="col">Job title</th>
          <th scope="col">Location</th>
          <th scope="col">Run</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="pager" id="users-pager">
      <button type="button" id="users-prev">‹ Previous</button><span id="users-page"></span><button type="button" id="users-next">Next ›</button>
    </div>
  </section>

  <section class="panel" id="dlq-panel" aria-labelledby="dlq-title">
    <div class="panel-head">
      <h2 id="dlq-title">Dead-letter queue (invalid records)</h2><span class="count" id="dlq-count" aria-live="polite"></span>
      <span class="spacer"></span>
      <label class="inline" for="dlq-run-filter">Run</label>
      <select id="dlq-run-filter"><option value="">All runs</option></select>
    </div>
    <p class="panel-msg" id="dlq-msg" role="status"></p>
    <div class="table-wrap">
      <table id="dlq-table" data-state="loading" aria-labelledby="dlq-title">
        <thead><tr>
          <th scope="col">Run</th>
          <th scope="col" class="num">Line</th>
          <th scope="col" class="num">User</th>
          <th scope="col" class="filter"><label for="dlq-error-filter">Error codes</label>
            <select id="dlq-error-filter"><option value="">All error codes</option></select></th>
          <th scope="col">Reason</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="pager" id="dlq-pager">
      <button type="button" id="dlq-prev">‹ Previous</button><span id="dlq-page"></span><button type="button" id="dlq-next">Next ›</button>
    </div>
  </section>
  <footer>Read-only view of the pipeline database · JSON at <a href="etl_runs">etl_runs</a>, <a href="stats">stats</a>, <a href="openapi.json">openapi.json</a></footer>
</main>

<script>
(function () {
  "use strict";

  var STATUSES = ["extracting", "extracted", "transforming", "transformed", "loading",
                  "uploading", "upload_pending", "completed", "failed"];
  var TOKEN_KEY = "etl-api-token";
  var PAGE_SIZE = { runs: 25, users: 50, dlq: 50 };
  var state = {
    runs: { offset: 0, total: 0, seq: 0 },
    users: { offset: 0, total: 0, seq: 0 },
    dlq: { offset: 0, total: 0, seq: 0 },
    charts: {},
    noData: false,
    retryTimer: null
  };
  var fmt = new Intl.NumberFormat("en-US");

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null) return;
        if (key === "text") node.textContent = String(value);
        else if (key === "className") node.className = value;
        else node.setAttribute(key, value);
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function num(value) { return (typeof value === "number" && isFinite(value)) ? fmt.format(value) : "–"; }
  function text(value) { return (value === null || value === undefined || value === "") ? "–" : String(value); }
  function when(iso) {
    if (!iso) return "–";
    var match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(String(iso));
    return match ? match[1] + " " + match[2] + (match[3] || "") : String(iso);
  }
  function shortRun(run) {
    // "20261122_030000" -> "11-22 03:00"
    var m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})/.exec(String(run || ""));
    return m ? m[2] + "-" + m[3] + " " + m[4] + ":" + m[5] : String(run || "");
  }

  // ---- API access -------------------------------------------------------------------------

  /// Percent-encodes with encodeURIComponent (a space is %20, never "+", which not every
  /// server decodes as a space in a query).
  function apiURL(path, params) {
    var url = new URL(path, document.baseURI);
    url.search = Object.keys(params || {}).filter(function (key) {
      var value = params[key];
      return value !== undefined && value !== null && value !== "";
    }).map(function (key) {
      return encodeURIComponent(key) + "=" + encodeURIComponent(String(params[key]));
    }).join("&");
    return url;
  }

  /// Resolves to {ok, status, data, total, message}; never rejects.
  function api(path, params) {
    var url = apiURL(path, params);
    var headers = { "Accept": "application/json" };
    var token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["Authorization"] = "Bearer " + token;
    return fetch(url, { headers: headers, cache: "no-store" }).then(function (response) {
      var total = response.headers.get("X-Total-Count");
      return response.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        var result = { ok: response.ok, status: response.status, data: data,
                       total: total === null ? null : Number(total), query: url.search };
        if (!response.ok) {
          result.message = (data && data.message) ? data.message : ("HTTP " + response.status);
          noteFailure(result, path);
        } else {
          noteSuccess();
        }
        return result;
      });
    }).catch(function (error) {
      return { ok: false, status: 0, data: null, total: null, query: url.search,
               message: "cannot reach the API (" + (error && error.message ? error.message : "network error") + ")" };
    });
  }

  function explain(result, path) {
    if (result.status === 404) return "Not available: this API has no /" + path + " endpoint yet (404).";
    if (result.status === 503) return "No data yet — the pipeline has not loaded a run.";
    if (result.status === 401 || result.status === 403) return "Authorization required: enter the API token above.";
    if (result.status === 0) return "Cannot reach the API. " + result.message;
    return "Error " + result.status + ": " + result.message;
  }

  function setNotice(kind, title, detail) {
    var box = $("notice");
    box.textContent = "";
    if (!kind) { box.className = ""; return; }
    box.className = "notice " + kind;
    box.appendChild(el("strong", { text: title }));
    if (detail) box.appendChild(document.createTextNode(detail));
  }

  function noteFailure(result) {
    if (result.status === 503) {
      state.noData = true;
      setNotice("info", "No data yet",
        "The pipeline has not loaded any run into the database yet. This page checks again every 10 seconds.");
      if (!state.retryTimer) state.retryTimer = setTimeout(function () { state.retryTimer = null; loadAll(); }, 10000);
    } else if (result.status === 401 || result.status === 403) {
      showTokenForm(true);
      setNotice("warn", "Authorization required",
        sessionStorage.getItem(TOKEN_KEY) ? "The API refused the token; enter another one." : "This API needs a token: enter it above.");
    }
  }

  function noteSuccess() {
    if (state.noData) { state.noData = false; setNotice(null); }
  }

  // ---- Token ------------------------------------------------------------------------------

  function showTokenForm(show) {
    $("token-form").hidden = !show;
    $("token-toggle").setAttribute("aria-expanded", show ? "true" : "false");
    if (show) $("token-input").focus();
  }

  $("token-toggle").addEventListener("click", function () { showTokenForm($("token-form").hidden); });
  $("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = $("token-input").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    $("token-input").value = "";
    showTokenForm(false);
    setNotice(null);
    loadAll();
  });
  $("token-clear").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    $("token-input").value = "";
    setNotice(null);
    loadAll();
  });
  $("refresh").addEventListener("click", function () { loadAll(); });

  // ---- Tables -----------------------------------------------------------------------------

  function setRows(table, rows, columns, emptyText) {
    var tbody = table.tBodies[0];
    tbody.textContent = "";
    if (!rows.length) {
      tbody.appendChild(el("tr", { className: "empty-row" }, [el("td", { className: "empty", colspan: String(columns), text: emptyText })]));
      return;
    }
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    tbody.appendChild(fragment);
  }

  function showPanelError(name, table, columns, result, path) {
    var message = explain(result, path);
    // "No data yet" is said once, in the notice at the top.
    $(name + "-msg").textContent = result.status === 503 ? "" : message;
    $(name + "-msg").className = "panel-msg error";
    $(name + "-count").textContent = "";
    setRows(table, [], columns, result.status === 503 ? "No data yet." : "Nothing to show.");
    table.dataset.state = "error";
    updatePager(name, 0, 0);
  }

  function updatePager(name, shown, total) {
    var s = state[name];
    var pageSize = PAGE_SIZE[name];
    $(name + "-page").textContent = total > 0
      ? (fmt.format(s.offset + 1) + "–" + fmt.format(s.offset + shown) + " of " + fmt.format(total)) : "";
    $(name + "-prev").disabled = s.offset <= 0;
    $(name + "-next").disabled = s.offset + pageSize >= total;
    $(name + "-pager").hidden = total <= pageSize && s.offset === 0;
  }

  function loadTable(name, path, params, columns, render, emptyText) {
    var s = state[name];
    var seq = ++s.seq;
    var table = $(name + "-table");
    table.dataset.state = "loading";
    table.setAttribute("aria-busy", "true");
    params.limit = PAGE_SIZE[name];
    params.offset = s.offset;
    return api(path, params).then(function (result) {
      if (seq !== s.seq) return;  // a newer request superseded this one
      table.removeAttribute("aria-busy");
      table.dataset.query = result.query;
      if (!result.ok || !Array.isArray(result.data)) {
        if (result.ok) result = { ok: false, status: 500, message: "unexpected answer (not a JSON array)" };
        showPanelError(name, table, columns, result, path);
        return;
      }
      $(name + "-msg").textContent = "";
      var rows = result.data.map(render);
      var total = result.total === null || isNaN(result.total) ? s.offset + rows.length : result.total;
      s.total = total;
      setRows(table, rows, columns, emptyText);
      table.dataset.state = rows.length ? "ready" : "empty";
      $(name + "-count").textContent = fmt.format(total) + (total === 1 ? " row" : " rows");
      updatePager(name, rows.length, total);
    });
  }

  function td(content, className, title) {
    var cell = el("td", { className: className, title: title });
    if (content instanceof Node) cell.appendChild(content); else cell.textContent = content;
    return cell;
  }

  function renderRun(run) {
    var valid = run.valid_count, invalid = run.invalid_count;
    var share = null;
    if (typeof valid === "number" && typeof invalid === "number" && valid + invalid > 0) share = valid / (valid + invalid);
    var shareCell = share === null ? td("–") : td(el("span", null, [
      (share * 100).toFixed(1) + "%",
      el("span", { className: "bar", "aria-hidden": "true" }, [el("span", { style: "width:" + (share * 100).toFixed(1) + "%" })])
    ]), "nowrap");
    var uploaded = Array.isArray(run.uploaded_files) ? run.uploaded_files.length : 0;
    return el("tr", { "data-run-id": run.id, "data-status": run.status }, [
      td(text(run.id), "mono"),
      td(when(run.run_timestamp), "nowrap"),
      td(el("span", { className: "badge " + String(run.status || "").replace(/[^a-z_]/g, ""), text: text(run.status) })),
      td(num(run.extracted_count), "num"),
      td(num(valid), "num"),
      td(num(invalid), "num"),
      shareCell,
      td(uploaded ? String(uploaded) : "–", "num", Array.isArray(run.uploaded_files) ? run.uploaded_files.join("\n") : null),
      td(run.error ? String(run.error) : "", "err", run.error ? String(run.error) : null)
    ]);
  }

  function renderUser(user) {
    var name = [user.first_name, user.last_name].filter(function (part) { return part; }).join(" ");
    return el("tr", { "data-department": user.department || "", "data-run-id": user.run_id }, [
      td(text(user.user_id), "num"),
      td(text(name), "nowrap"),
      td(text(user.email)),
      td(typeof user.age === "number" ? String(user.age) : text(user.age), "num"),
      td(el("span", null, [text(user.department),
        user.department_code ? el("span", { className: "code", text: String(user.department_code) }) : null]), "nowrap"),
      td(text(user.job_title)),
      td([user.city, user.country].filter(function (part) { return part; }).join(", ") || "–", "nowrap"),
      td(shortRun(user.run_id) || "–", "mono", user.run_id ? "run " + user.run_id : null)
    ]);
  }

  function renderInvalid(row) {
    var codes = Array.isArray(row.error_codes) ? row.error_codes : [];
    var chips = el("span", null, codes.length ? codes.map(function (code) {
      return el("span", { className: "chip", text: String(code) });
    }) : ["–"]);
    return el("tr", { "data-error-codes": codes.join(" "), "data-run-id": row.run_id }, [
      td(text(row.run_id), "mono"),
      td(text(row.line_no), "num"),
      td(text(row.user_id), "num"),
      td(chips),
      td(text(row.error_reason), "reason")
    ]);
  }

  function loadRuns() {
    return loadTable("runs", "etl_runs", { status: $("runs-status-filter").value }, 9, renderRun,
      $("runs-status-filter").value ? "No run with this status." : "No runs yet.");
  }
  function loadUsers() {
    return loadTable("users", "processed_users", {
      department: $("users-department-filter").value, run_id: $("users-run-filter").value
    }, 8, renderUser, "No users match these filters.");
  }
  function loadDLQ() {
    return loadTable("dlq", "invalid_users", {
      error_code: $("dlq-error-filter").value, run_id: $("dlq-run-filter").value
    }, 5, renderInvalid, "No invalid records match these filters.");
  }
  var loaders = { runs: loadRuns, users: loadUsers, dlq: loadDLQ };

  function bindFilter(id, name) {
    $(id).addEventListener("change", function () {
      $(id).classList.toggle("active", $(id).value !== "");
      state[name].offset = 0;
      loaders[name]();
    });
  }
  bindFilter("runs-status-filter", "runs");
  bindFilter("users-department-filter", "users");
  bindFilter("users-run-filter", "users");
  bindFilter("dlq-error-filter", "dlq");
  bindFilter("dlq-run-filter", "dlq");
  ["runs", "users", "dlq"].forEach(function (name) {
    $(name + "-prev").addEventListener("click", function () {
      state[name].offset = Math.max(0, state[name].offset - PAGE_SIZE[name]);
      loaders[name]();
    });
    $(name + "-next").addEventListener("click", function () {
      if (state[name].offset + PAGE_SIZE[name] < state[name].total) state[name].offset += PAGE_SIZE[name];
      loaders[name]();
    });
  });

  /// Replaces a select's options (keeping the first, "All …") and its current value when still offered.
  function fillSelect(select, options) {
    var current = select.value;
    while (select.options.length > 1) select.remove(1);
    options.forEach(function (option) {
      select.appendChild(el("option", { value: option.value, text: option.label }));
    });
    var values = options.map(function (option) { return option.value; });
    select.value = values.indexOf(current) >= 0 ? current : "";
    select.disabled = options.length === 0;
    return select.value !== current;  // whether the filter had to be reset
  }

  fillSelect($("runs-status-filter"), STATUSES.map(function (status) {
    return { value: status, label: status.replace(/_/g, " ") };
  }));

  // ---- Stats, filters and charts ----------------------------------------------------------

  function sum(list, key) {
    return list.reduce(function (total, item) { return total + (typeof item[key] === "number" ? item[key] : 0); }, 0);
  }

  function list(value) { return Array.isArray(value) ? value.slice() : []; }

  /// /stats as {departments, codes, runs, totals}, whichever of the two spellings the API uses
  /// (`by_department` / `by_error_code` / `by_run` with `id`, or `departments` / `error_codes` /
  /// `runs` with `run_id`).
  function normalizeStats(stats) {
    var runs = list(stats.by_run || stats.runs).map(function (r) {
      return { run_id: r.run_id || r.id, run_timestamp: r.run_timestamp, status: r.status,
               valid_count: r.valid_count, invalid_count: r.invalid_count };
    });
    return {
      departments: list(stats.by_department || stats.departments).filter(function (d) { return d && typeof d === "object"; }),
      codes: list(stats.by_error_code || stats.error_codes).filter(function (c) { return c && c.error_code; }),
      runs: runs,
      totals: (stats.totals && typeof stats.totals === "object") ? stats.totals : null
    };
  }

  function applyStats(raw) {
    var stats = normalizeStats(raw);
    var departments = stats.departments, codes = stats.codes, runs = stats.runs, totals = stats.totals;
    departments.sort(function (a, b) { return String(a.department).localeCompare(String(b.department)); });
    codes.sort(function (a, b) { return (b.count || 0) - (a.count || 0); });
    runs.sort(function (a, b) { return String(a.run_timestamp || a.run_id).localeCompare(String(b.run_timestamp || b.run_id)); });

    $("kpi-runs").textContent = fmt.format(totals && typeof totals.runs === "number" ? totals.runs : runs.length);
    $("kpi-valid").textContent = fmt.format(totals && typeof totals.processed_users === "number"
      ? totals.processed_users : sum(runs, "valid_count"));
    $("kpi-invalid").textContent = fmt.format(totals && typeof totals.invalid_users === "number"
      ? totals.invalid_users : sum(runs, "invalid_count"));
    $("kpi-departments").textContent = fmt.format(departments.filter(function (d) { return d.department; }).length);

    // A user without a department cannot be selected by `department=`: charted, not offered.
    var resetUsers = fillSelect($("users-department-filter"), departments.filter(function (d) {
      return d.department;
    }).map(function (d) {
      return { value: String(d.department), label: d.department + " (" + fmt.format(d.count || 0) + ")" };
    }));
    var resetDLQ = fillSelect($("dlq-error-filter"), codes.map(function (c) {
      return { value: String(c.error_code), label: c.error_code + " (" + fmt.format(c.count || 0) + ")" };
    }));
    var runOptions = runs.slice().reverse().map(function (r) {
      return { value: String(r.run_id), label: r.run_id + " · " + r.status };
    });
    resetUsers = fillSelect($("users-run-filter"), runOptions) || resetUsers;
    resetDLQ = fillSelect($("dlq-run-filter"), runOptions) || resetDLQ;
    drawCharts(runs, departments);
    return { users: resetUsers, dlq: resetDLQ };
  }

  function chartsAvailable() { return typeof window.Chart === "function"; }

  /// A message in place of a chart (the canvas' box collapses while there is one).
  function setChartMessage(id, text) {
    $(id + "-msg").textContent = text;
    $(id).parentNode.hidden = !!text;
  }

  function chartMessage(text) {
    setChartMessage("chart-runs", text);
    setChartMessage("chart-departments", text);
  }

  var markRendered = {
    id: "markRendered",
    afterRender: function (chart) {
      var running = window.Chart.animator && typeof window.Chart.animator.running === "function"
        ? window.Chart.animator.running(chart) : false;
      if (!running) chart.canvas.setAttribute("data-rendered", "true");
    }
  };

  function drawChart(id, config) {
    var canvas = $(id);
    if (state.charts[id]) { state.charts[id].destroy(); delete state.charts[id]; }
    canvas.removeAttribute("data-rendered");
    config.plugins = [markRendered];
    config.options = Object.assign({
      responsive: true, maintainAspectRatio: false,
      animation: window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 500 }
    }, config.options || {});
    state.charts[id] = new window.Chart(canvas, config);
  }

  function drawCharts(runs, departments) {
    if (!chartsAvailable()) {
      chartMessage("Charts unavailable (install libjs-chart.js on the API host).");
      return;
    }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#5c6678";
    var recent = runs.slice().sort(function (a, b) {
      return String(a.run_timestamp || a.run_id).localeCompare(String(b.run_timestamp || b.run_id));
    }).slice(-30);
    setChartMessage("chart-runs", recent.length ? "" : "No runs yet.");
    drawChart("chart-runs", {
      type: "bar",
      data: {
        labels: recent.map(function (r) { return shortRun(r.run_id); }),
        datasets: [
          { label: "Valid", data: recent.map(function (r) { return r.valid_count || 0; }),
            backgroundColor: "#2f9e62", borderRadius: 3, maxBarThickness: 56, stack: "records" },
          { label: "Invalid", data: recent.map(function (r) { return r.invalid_count || 0; }),
            backgroundColor: "#d9534f", borderRadius: 3, maxBarThickness: 56, stack: "records" }
        ]
      },
      options: {
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { title: function (items) { return items.length ? recent[items[0].dataIndex].run_id : ""; } } }
        },
        scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true } }
      }
    });

    var byCount = departments.slice().sort(function (a, b) { return (b.count || 0) - (a.count || 0); });
    setChartMessage("chart-departments", byCount.length ? "" : "No users yet.");
    drawChart("chart-departments", {
      type: "bar",
      data: {
        labels: byCount.map(function (d) { return d.department || "(no department)"; }),
        datasets: [{ label: "Users", data: byCount.map(function (d) { return d.count || 0; }),
                     backgroundColor: "#4a7fe0", borderRadius: 3, maxBarThickness: 22 }]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true }, y: { grid: { display: false }, ticks: { autoSkip: false } } }
      }
    });
  }

  /// Charts from the runs list when /stats is not there (departments stay empty).
  function fallbackRunsChart() {
    return api("etl_runs", { limit: 30 }).then(function (result) {
      if (!result.ok || !Array.isArray(result.data)) return;
      drawCharts(result.data.map(function (run) {
        return { run_id: run.id, run_timestamp: run.run_timestamp, status: run.status,
                 valid_count: run.valid_count, invalid_count: run.invalid_count };
      }), []);
    });
  }

  function loadStats() {
    return api("stats", {}).then(function (result) {
      if (result.ok && result.data && typeof result.data === "object") return applyStats(result.data);
      var message = explain(result, "stats");
      if (!chartsAvailable()) chartMessage("Charts unavailable (install libjs-chart.js on the API host).");
      else chartMessage(result.status === 503 ? "No data yet." : message);
      if (result.status === 404) {
        $("users-department-filter").disabled = true;
        $("dlq-error-filter").disabled = true;
        return fallbackRunsChart().then(function () { setChartMessage("chart-departments", message); return {}; });
      }
      return {};
    });
  }

  function loadAll() {
    $("last-updated").textContent = "Loading…";
    var statsDone = loadStats();
    var tables = [loadRuns(), statsDone.then(function () { return loadUsers(); }),
                  statsDone.then(function () { return loadDLQ(); })];
    return Promise.all(tables).then(function () {
      $("last-updated").textContent = "Updated " + new Date().toLocaleTimeString();
      document.body.setAttribute("data-loaded", "true");
    });
  }

  if (!chartsAvailable()) chartMessage("Charts unavailable (install libjs-chart.js on the API host).");
  loadAll();
})();
</script>
</body>
</html>
"""#
}
