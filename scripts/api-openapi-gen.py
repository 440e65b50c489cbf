#!/usr/bin/env python3
"""Writes Sources/ResultsAPI/OpenAPIDocument.swift: the OpenAPI 3.1 document the api serves
at /openapi.json. Edit the description here, run `python3 scripts/api-openapi-gen.py`, and
check the result with scripts/api-conformance.sh (schemathesis against the running api)."""
import json
import os
statuses=["extracting","extracted","transforming","transformed","loading","uploading","upload_pending","completed","failed"]
RUN_ID_PATTERN=r"^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])_([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$"
def ref(n): return {"$ref": "#/components/schemas/"+n}
def nullable(t, **kw): d={"type":[t,"null"]}; d.update(kw); return d
def err(desc, code_examples, headers=None):
    r={"description":desc,"content":{"application/json":{"schema":ref("Error")}}}
    if headers: r["headers"]=headers
    return r
def listresp(desc, item):
    return {"description":desc,"headers":{"X-Total-Count":{"$ref":"#/components/headers/XTotalCount"}},
            "content":{"application/json":{"schema":{"type":"array","items":ref(item)}}}}
def pref(n): return {"$ref":"#/components/parameters/"+n}
def rref(n): return {"$ref":"#/components/responses/"+n}
common_errors={"400":rref("BadRequest"),"401":rref("Unauthorized"),"503":rref("ServiceUnavailable")}
run_props={
 "id":{"type":"string","pattern":r"^[0-9]{8}_[0-9]{6}$","description":"run id: UTC start second, YYYYMMDD_HHMMSS"},
 "run_timestamp":{"type":"string","description":"ISO-8601 UTC, e.g. 2027-01-15T08:00:00Z"},
 "status":{"type":"string","enum":statuses},
 "raw_file":nullable("string"),"processed_file":nullable("string"),"dlq_file":nullable("string"),
 "extracted_count":nullable("integer"),"valid_count":nullable("integer"),"invalid_count":nullable("integer"),
}
for k in ["extract_started_at","extract_finished_at","transform_started_at","transform_finished_at","load_started_at","load_finished_at","upload_finished_at"]:
    run_props[k]=nullable("string",description="ISO-8601 UTC")
run_props["uploaded_files"]={"type":"array","items":{"type":"string"},"description":"remote names of the uploaded files"}
run_props["upload_attempts"]={"type":"integer","minimum":0}
run_props["next_upload_at"]=nullable("string",description="ISO-8601 UTC; next upload retry")
run_props["error"]=nullable("string",description="why the run failed (or the last upload error)")
run_props["created_at"]=nullable("string"); run_props["updated_at"]=nullable("string")
# Exactly the allow-list of Sources/PipelineSchema/ServedFields.swift (APITests checks it):
# the stored records themselves are never served.
processed_props={"row_id":{"type":"integer"},"run_id":{"type":"string"},"line_no":{"type":"integer"},"user_id":nullable("integer"),
 "first_name":nullable("string"),"last_name":nullable("string"),"email":nullable("string"),"age":nullable("number"),"gender":nullable("string"),
 "department":nullable("string"),"department_code":nullable("string"),"company_name":nullable("string"),"job_title":nullable("string"),
 "city":nullable("string"),"country":nullable("string"),"inserted_at":{"type":"string"}}
invalid_props={"row_id":{"type":"integer"},"run_id":{"type":"string"},"line_no":{"type":"integer","description":"the line's position in the run's DLQ file (1-based)"},
 "user_id":nullable("integer"),
 "error_reason":nullable("string",description="why the record is invalid; for a line that is not JSON, the parser's error and its byte offset (never the line's text)"),
 "error_codes":{"type":"array","items":{"type":"string"}},"inserted_at":{"type":"string"},
 "first_name":nullable("string",description="the record's firstName when it is a JSON object holding a string there"),
 "last_name":nullable("string",description="the record's lastName, likewise"),"email":nullable("string",description="the record's email, likewise"),
 "raw_line_length":nullable("integer",minimum=0,description="for a line that is not a JSON object: its length in UTF-8 bytes (its text is never served); null otherwise")}
def obj(props, desc=None):
    d={"type":"object","required":list(props.keys()),"properties":props}
    if desc: d["description"]=desc
    return d
text_param=lambda name,desc:{"name":name,"in":"query","required":False,"description":desc+"; no control characters (NUL included)","schema":{"type":"string","minLength":1,"maxLength":200,"pattern":"^[^\\u0000-\\u001f\\u007f]*$"}}
code_param=lambda name,desc:{"name":name,"in":"query","required":False,"description":desc,"schema":{"type":"string","pattern":"^[A-Za-z0-9_-]{1,64}$"}}
doc={
 "openapi":"3.1.0",
 "info":{"title":"ETL pipeline results API","version":"1.0.0",
   "description":"Read-only JSON API over the pipeline's SQLite database. Every error is {\"error\": code, \"message\": text}. Any method other than GET, HEAD and OPTIONS is 405 on every path; OPTIONS on any path is 204 with Allow (and the CORS preflight headers for an allowed Origin). Only allow-listed fields are served: no stored record, no text of an unparseable line, no personal field beyond names, email, age, gender, company, job title, city and country. While the database does not exist yet, data routes answer 503 with Retry-After. When API_TOKEN is set, every route except /health, the dashboard page / and /assets/chart.js (which hold no data) requires 'Authorization: Bearer <API_TOKEN>' (401 otherwise); without API_TOKEN no route requires it."},
 "servers":[{"url":"/"}],
 "security":[{"bearerAuth":[]}],
 "paths":{
  "/etl_runs":{"get":{"operationId":"listRuns","summary":"Runs, newest first","parameters":[pref("limit"),pref("offset"),pref("status")],
     "responses":{"200":listresp("a page of runs; the number of matching runs in X-Total-Count","Run"),**common_errors}}},
  "/etl_runs/{id}":{"get":{"operationId":"getRun","summary":"One run","parameters":[pref("runIdPath")],
     "responses":{"200":{"description":"the run","content":{"application/json":{"schema":ref("Run")}}},**common_errors,"404":rref("NotFound")}}},
  "/processed_users":{"get":{"operationId":"listProcessedUsers","summary":"Valid, enriched users, newest run first, each run in file order",
     "parameters":[pref("runIdQuery"),pref("department"),pref("departmentCode"),pref("q"),pref("limit"),pref("offset")],
     "responses":{"200":listresp("a page of users; the number of matching users in X-Total-Count","ProcessedUser"),**common_errors}}},
  "/invalid_users":{"get":{"operationId":"listInvalidUsers","summary":"Dead-letter (invalid) users, newest run first",
     "parameters":[pref("runIdQuery"),pref("errorCode"),pref("q"),pref("limit"),pref("offset")],
     "responses":{"200":listresp("a page of invalid users; the number of matching rows in X-Total-Count","InvalidUser"),**common_errors}}},
  "/stats":{"get":{"operationId":"getStats","summary":"Aggregates for charts: totals, users per department, invalid users per error code, counts per run (newest 1000 runs)",
     "parameters":[pref("runIdQuery")],
     "responses":{"200":{"description":"the aggregates","content":{"application/json":{"schema":ref("Stats")}}},**common_errors,"404":rref("NotFound")}}},
  "/health":{"get":{"operationId":"getHealth","summary":"Liveness and database state (never requires the token)","security":[],
     "responses":{"200":{"description":"the API serves; database is ok, missing (no file yet) or unavailable","content":{"application/json":{"schema":ref("Health")}}}}}},
  "/metrics":{"get":{"operationId":"getMetrics","summary":"Prometheus text exposition: http_requests_total{route,method,status}, http_request_duration_seconds{route,method}",
     "responses":{"200":{"description":"metrics","content":{"text/plain; version=0.0.4; charset=utf-8":{"schema":{"type":"string"}}}},"401":rref("Unauthorized")}}},
  "/openapi.json":{"get":{"operationId":"getOpenAPI","summary":"This document",
     "responses":{"200":{"description":"the OpenAPI 3.1 document","content":{"application/json":{"schema":{"type":"object"}}}},"401":rref("Unauthorized")}}},
  "/":{"get":{"operationId":"getDashboard","summary":"The dashboard page (HTML; holds no data, asks for the token and reads the JSON routes above)","security":[],
     "responses":{"200":{"description":"the page","content":{"text/html; charset=utf-8":{"schema":{"type":"string"}}}}}}},
  "/assets/chart.js":{"get":{"operationId":"getChartJS","summary":"Chart.js for the dashboard, from CHARTJS_PATH (no token needed)","security":[],
     "responses":{"200":{"description":"the script","content":{"application/javascript; charset=utf-8":{"schema":{"type":"string"}}}},
       "304":{"description":"the client's copy (If-None-Match) is current"},
       "404":{"description":"Chart.js is not installed at CHARTJS_PATH (error chartjs_unavailable)","content":{"application/json":{"schema":ref("Error")}}}}}},
 },
 "components":{
  "securitySchemes":{"bearerAuth":{"type":"http","scheme":"bearer","description":"the value of API_TOKEN (only enforced when API_TOKEN is set)"}},
  "headers":{"XTotalCount":{"description":"number of items matching the filters (all pages)","required":True,"schema":{"type":"integer","minimum":0}}},
  "parameters":{
   "limit":{"name":"limit","in":"query","required":False,"description":"page size","schema":{"type":"integer","minimum":1,"maximum":1000,"default":100}},
   "offset":{"name":"offset","in":"query","required":False,"description":"items to skip","schema":{"type":"integer","minimum":0,"maximum":1000000000,"default":0}},
   "status":{"name":"status","in":"query","required":False,"description":"only runs with this status","schema":{"type":"string","enum":statuses}},
   "runIdPath":{"name":"id","in":"path","required":True,"description":"run id, YYYYMMDD_HHMMSS (UTC); a malformed id is 400; a well-formed id naming no run (or an impossible date such as Feb 30) is 404","schema":{"type":"string","pattern":RUN_ID_PATTERN}},
   "runIdQuery":{"name":"run_id","in":"query","required":False,"description":"only this run (YYYYMMDD_HHMMSS, UTC)","schema":{"type":"string","pattern":RUN_ID_PATTERN}},
   "department":text_param("department","exact department name, e.g. Engineering"),
   "departmentCode":code_param("department_code","exact department code, e.g. ENG"),
   "errorCode":code_param("error_code","rows whose error_codes contain this code, e.g. invalid_email"),
   "q":text_param("q","first name, last name or email contains this text (case-insensitive for ASCII; % and _ match literally)"),
  },
  "responses":{
   "BadRequest":err("a malformed parameter (error invalid_parameter, or invalid_run_id for the path)",None),
   "Unauthorized":err("API_TOKEN is set and the request lacks 'Authorization: Bearer <API_TOKEN>' (error unauthorized)",None,
       {"WWW-Authenticate":{"required":True,"schema":{"type":"string"}}}),
   "NotFound":err("no such run (error run_not_found)",None),
   "ServiceUnavailable":err("the database does not exist yet (error database_unavailable)",None,
       {"Retry-After":{"required":True,"schema":{"type":"string"}}}),
  },
  "schemas":{
   "Error":{"type":"object","required":["error","message"],"properties":{"error":{"type":"string"},"message":{"type":"string"}}},
   "Run":obj(run_props,"one etl_runs row"),
   "ProcessedUser":obj(processed_props),
   "InvalidUser":obj(invalid_props),
   "Stats":obj({
     "run_id":nullable("string"),
     "totals":obj({"runs":{"type":"integer"},"processed_users":{"type":"integer"},"invalid_users":{"type":"integer"}}),
     "by_department":{"type":"array","items":obj({"department":nullable("string"),"department_code":nullable("string"),"count":{"type":"integer"}})},
     "by_error_code":{"type":"array","items":obj({"error_code":{"type":"string"},"count":{"type":"integer"}})},
     "by_run":{"type":"array","items":obj({"id":{"type":"string"},"run_timestamp":{"type":"string"},"status":{"type":"string"},
        "extracted_count":nullable("integer"),"valid_count":nullable("integer"),"invalid_count":nullable("integer")})},
   }),
   "Health":obj({"status":{"type":"string","enum":["ok"]},"database":{"type":"string","enum":["ok","missing","unavailable"]},
      "latest_run":{"oneOf":[ref("Run"),{"type":"null"}]}}),
  },
 },
}
text=json.dumps(doc,indent=2,ensure_ascii=False)
assert '"""#' not in text and '\\#' not in text
swift='''/// The OpenAPI 3.1 description of this API, served at `GET /openapi.json`. Generated by
/// `scripts/api-openapi-gen.py` (edit that, not this) and kept as a literal so that what is
/// served is exactly what is reviewed; `scripts/api-conformance.sh` runs schemathesis
/// against it and the running API, and the tests check it lists every route.
enum OpenAPIDocument {
    static let json = #"""
'''+text+'''
"""#

    static let bytes = Array(json.utf8)
}
'''
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Sources', 'ResultsAPI', 'OpenAPIDocument.swift'), 'w').write(swift)
