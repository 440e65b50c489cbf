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

  /// The registry (GET /connectors answers an envelope, not a bare array): every connector
  /// with its status, last and next run; a few per deployment, so one page of 1000.
  function loadConnectors() {
    var table = $("connectors-table");
    table.dataset.state = "loading";
    return api("connectors", { limit: 1000 }).then(function (result) {
      if (!result.ok || !result.data || !Array.isArray(result.data.connectors)) {
        if (result.ok) result = { ok: false, status: 500, message: "unexpected answer (no connectors array)" };
        showPanelError("connectors", table, 7, result, "connectors");
        return;
      }
      $("connectors-msg").textContent = "";
      var rows = result.data.connectors.map(renderConnector);
      setRows(table, rows, 7, "No connectors registered (etlctl connectors create --file F).");
      table.dataset.state = rows.length ? "ready" : "empty";
      var total = result.data.total;
      $("connectors-count").textContent = fmt.format(total) + (total === 1 ? " connector" : " connectors");
    });
  }

  function renderConnector(connector) {
    var status = String(connector.status || "").replace(/[^a-z_]/g, "");
    return el("tr", { "data-connector": connector.name, "data-status": status }, [
      td(text(connector.name), "mono"),
      td(text(connector.type)),
      td(text(connector.dataset), "mono"),
      td(el("span", { className: "badge " + status, text: text(connector.status) })),
      td(when(connector.last_run_at), "nowrap"),
      td(connector.next_run_at ? when(connector.next_run_at) : "on demand", "nowrap"),
      td(connector.status_reason ? String(connector.status_reason) : "", "err", connector.status_reason ? String(connector.status_reason) : null)
    ]);
  }

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
    var tables = [loadConnectors(), loadRuns(), statsDone.then(function () { return loadUsers(); }),
                  statsDone.then(function () { return loadDLQ(); })];
    return Promise.all(tables).then(function () {
      $("last-updated").textContent = "Updated " + new Date().toLocaleTimeString();
      document.body.setAttribute("data-loaded", "true");
    });
  }

  if (!chartsAvailable()) chartMessage("Charts unavailable (install libjs-chart.js on the API host).");
  loadAll();
})();
