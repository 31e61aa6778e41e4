//! The OpenAPI document as a contract. utoipa derives each operation from its handler; this
//! completes it from the declarations every request meets on its way in, so the document cannot
//! promise less or more than the server does:
//!
//! - each operation is named by its `kintara_api::endpoint` declaration (`operationId`), and
//!   `x-roles` lists the roles its `ACCESS` lets in;
//! - the answers of the common layers are listed wherever those layers run: 401 for every
//!   operation that needs a token, 403 where `ACCESS` names roles, 400/413/415/422 where a body is
//!   read, 422 where a query is read, 404 where the path names an object, 503 (a lost lock race,
//!   retried with `Retry-After`) for writes, 429 where a rate limit applies
//!   (`crate::limits::LIMITED`) and 500 everywhere, all with the error envelope;
//! - query parameters are described by the [`QueryParam`] declarations their handlers parse with;
//! - request bodies carry the rules their `Validate` applies ([`kintara_api::rules`]);
//! - links say which answer feeds which call (a report → its detail, timeline and evidence), so
//!   a client or a stateful test reaches real ids.

use kintara_api::endpoint::{self, Access, Info, Method};
use kintara_api::rules::Rule;
use kintara_api::Role;
use serde_json::{json, Map, Value};

use crate::extract::query::QueryParam;
use crate::extract::MAX_JSON_BODY;

/// The highest page number any paged list accepts.
pub const MAX_PAGE: u32 = 1_000_000;

const ENVELOPE: &str = "#/components/schemas/ErrorEnvelope";

/// The completed document (see the module's description).
pub fn contract(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the document serialises");
    for info in endpoint::ALL {
        let op = operation(&mut doc, info.method, info.path)
            .unwrap_or_else(|| panic!("{} is declared but not routed", info.name));
        op["operationId"] = json!(info.name);
        // Who may call it, for tools that test one role at a time (`.ci/schemathesis`).
        op["x-roles"] = json!(Role::ALL
            .iter()
            .filter(|r| info.access.allows(Some(**r)))
            .map(|r| r.as_str())
            .collect::<Vec<_>>());
        if let Some(params) = query_params(info.name) {
            describe_query(op, params);
        }
        add_common_answers(op, info);
    }
    for link in LINKS {
        add_link(&mut doc, link);
    }
    kintara_api::rules::apply_all(&mut doc["components"]["schemas"]);
    pin_ids(&mut doc);
    // With `page`, the case list answers a page instead of a bare array.
    let cases = find("Cases");
    let op = operation(&mut doc, cases.method, cases.path).expect("declared");
    op["responses"]["200"]["content"]["application/json"]["schema"] = json!({"oneOf": [
        {"type": "array", "items": {"$ref": "#/components/schemas/CaseView"}},
        {"$ref": "#/components/schemas/CasePage"},
    ]});
    // The upload's form parts meet the rules `evidence::handlers` reads them with.
    let upload = find("UploadEvidence");
    let op = operation(&mut doc, upload.method, upload.path).expect("declared");
    let form = &mut op["requestBody"]["content"]["multipart/form-data"]["schema"];
    form["additionalProperties"] = json!(false);
    form["properties"]["file"]["minLength"] = json!(1);
    let part = |rule: Rule| rule.schema();
    let client_id = part(Rule::Key {
        max: kintara_api::MAX_CLIENT_ID,
    });
    let description = part(Rule::Text {
        max: kintara_api::MAX_EVIDENCE_DESCRIPTION,
    });
    for (name, rules) in [("client_id", client_id), ("description", description)] {
        let property = form["properties"][name]
            .as_object_mut()
            .expect("a documented part");
        property.extend(rules.as_object().expect("keywords").clone());
    }
    // A file answers with its own type.
    let download = find("DownloadEvidence");
    let op = operation(&mut doc, download.method, download.path).expect("declared");
    let ok = &mut op["responses"]["200"]["content"];
    let body = ok["application/octet-stream"].take();
    *ok = json!({ "*/*": body });
    doc
}

/// An id is the hyphenated form, the only one the server answers with: format `uuid` is only an
/// annotation in JSON Schema, so the form is stated as a pattern of exactly 36 characters.
fn pin_ids(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("uuid") {
                map.insert("minLength".into(), json!(36));
                map.insert("maxLength".into(), json!(36));
                map.insert("pattern".into(), json!(UUID_PATTERN));
            }
            map.values_mut().for_each(pin_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(pin_ids),
        _ => {}
    }
}

const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

fn operation<'a>(doc: &'a mut Value, method: Method, path: &str) -> Option<&'a mut Value> {
    doc["paths"]
        .get_mut(path)?
        .get_mut(method.as_str().to_ascii_lowercase())
}

fn find(name: &str) -> &'static Info {
    endpoint::ALL
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
}

/// The query each endpoint reads, as its handler declares it.
fn query_params(name: &str) -> Option<&'static [QueryParam]> {
    use crate::{admin, chat, events, incidents, notifications, workflow};
    Some(match name {
        "AdminUsers" => &admin::USERS_QUERY,
        "Audit" => &admin::AUDIT_QUERY,
        "ListIncidents" => &incidents::handlers::LIST_QUERY,
        "AssignedCases" => &workflow::provider::ASSIGNED_QUERY,
        "Cases" => &workflow::dispatch::CASES_QUERY,
        "Providers" => &workflow::dispatch::PROVIDERS_QUERY,
        "Notifications" | "UnreadNotifications" | "MarkAllNotificationsRead" => {
            notifications::handlers::QUERY
        }
        "Messages" => &chat::handlers::MESSAGES_QUERY,
        "Events" => &events::handlers::EVENTS_QUERY,
        _ => return None,
    })
}

fn describe_query(op: &mut Value, params: &[QueryParam]) {
    let listed = op["parameters"]
        .as_array_mut()
        .expect("the handler lists its query");
    for p in params {
        let param = listed
            .iter_mut()
            .find(|v| v["name"] == p.name)
            .unwrap_or_else(|| panic!("query parameter {} is not listed", p.name));
        param["in"] = json!("query");
        param["required"] = json!(p.required);
        param["schema"] = p.schema();
    }
    assert_eq!(
        listed.len(),
        params.len(),
        "every query parameter is declared"
    );
}

fn add_common_answers(op: &mut Value, info: &Info) {
    let has_path_param = info.path.contains('{');
    let has_query = op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let body_types: Vec<String> = op["requestBody"]["content"]
        .as_object()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let responses = op["responses"]
        .as_object_mut()
        .expect("every operation answers");
    let mut add = |status: u16, description: String| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(&description));
    };
    if info.access != Access::Public {
        add(
            401,
            "Not signed in: no token, or an invalid, expired or revoked one".into(),
        );
    }
    if let Access::Roles(roles) = info.access {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        add(403, format!("Only for: {}", names.join(", ")));
    }
    if !body_types.is_empty() {
        let expected = body_types.join(" or ");
        let multipart = body_types.iter().any(|t| t.starts_with("multipart/"));
        add(
            400,
            "The body cannot be read (malformed JSON or multipart)".into(),
        );
        if !multipart {
            add(
                413,
                format!("The body is over {} KiB", MAX_JSON_BODY / 1024),
            );
        }
        add(415, format!("The body is not {expected}"));
        add(422, "Invalid fields".into());
    }
    if has_query {
        add(422, "Invalid query parameters".into());
    }
    if has_path_param {
        add(404, "No such object, or not the caller's to see".into());
    }
    if info.method != Method::Get {
        add(
            503,
            "Lost a race with a concurrent write; nothing of the request stands, retry after \
             `Retry-After` seconds"
                .into(),
        );
    }
    if crate::limits::LIMITED
        .iter()
        .any(|(name, _)| *name == info.name)
    {
        add(
            429,
            "Over a rate limit of this account or address; nothing was done, retry after \
             `Retry-After` seconds"
                .into(),
        );
    }
    add(
        500,
        "An internal error; nothing of the request stands".into(),
    );
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ENVELOPE}}},
    })
}

/// One link: a success of `from` gives `to` what it needs.
struct Link {
    from: &'static str,
    to: &'static str,
    feed: Feed,
}

/// What the link passes on, by a runtime expression.
enum Feed {
    /// The target's `{id}`.
    PathId(&'static str),
    /// The target's `room_id` query parameter.
    RoomId(&'static str),
    /// The target's body: JSON with runtime expressions for values.
    Body(&'static str),
}

const fn link(from: &'static str, to: &'static str, id: &'static str) -> Link {
    Link {
        from,
        to,
        feed: Feed::PathId(id),
    }
}

const ID: &str = "$response.body#/id";
const FIRST: &str = "$response.body#/0/id";
const FIRST_RESULT: &str = "$response.body#/results/0/id";
const SAME: &str = "$request.path.id";

const LINKS: &[Link] = &[
    // A report, and what hangs off it.
    link("CreateIncident", "GetIncident", ID),
    link("CreateIncident", "PatchIncident", ID),
    link("CreateIncident", "Timeline", ID),
    link("CreateIncident", "ListEvidence", ID),
    link("CreateIncident", "UploadEvidence", ID),
    link("CreateIncident", "DeleteIncident", ID),
    link("ListIncidents", "GetIncident", FIRST),
    link("ListIncidents", "Timeline", FIRST),
    link("ListIncidents", "ListEvidence", FIRST),
    link("PatchIncident", "GetIncident", SAME),
    // Evidence.
    link("UploadEvidence", "DownloadEvidence", ID),
    link("UploadEvidence", "DeleteEvidence", ID),
    link("ListEvidence", "DownloadEvidence", FIRST),
    link("ListEvidence", "DeleteEvidence", FIRST),
    // The workflow.
    link("Cases", "Case", FIRST),
    link("Cases", "Assign", FIRST),
    link("Cases", "Reassign", FIRST),
    link("Cases", "Recommendations", FIRST),
    link("Cases", "Timeline", FIRST),
    link("Assign", "Case", SAME),
    link("Assign", "Reassign", SAME),
    link("Reassign", "Case", SAME),
    link("AssignedCases", "Accept", FIRST),
    link("AssignedCases", "Reject", FIRST),
    link("AssignedCases", "UpdateStatus", FIRST),
    link("AssignedCases", "GetIncident", FIRST),
    link("Accept", "UpdateStatus", SAME),
    // Notifications and devices.
    link("Notifications", "MarkNotificationRead", FIRST_RESULT),
    link("UnreadNotifications", "MarkNotificationRead", FIRST_RESULT),
    link("RegisterDevice", "RemoveDevice", ID),
    // Chat.
    link("Rooms", "MarkRoomRead", FIRST_RESULT),
    link("Rooms", "Typing", FIRST_RESULT),
    link("Rooms", "LeaveRoom", FIRST_RESULT),
    Link {
        from: "Rooms",
        to: "Messages",
        feed: Feed::RoomId(FIRST_RESULT),
    },
    Link {
        from: "Rooms",
        to: "SendMessage",
        feed: Feed::Body(r#"{"room": "$response.body#/results/0/id", "content": "Hello"}"#),
    },
    link("CreateDirectChat", "MarkRoomRead", ID),
    link("CreateDirectChat", "LeaveRoom", ID),
    Link {
        from: "CreateDirectChat",
        to: "Messages",
        feed: Feed::RoomId(ID),
    },
    link("SendMessage", "DeleteMessage", ID),
    link("SendMessage", "MarkMessageRead", ID),
    Link {
        from: "SendMessage",
        to: "Messages",
        feed: Feed::RoomId("$response.body#/room"),
    },
    link("Messages", "MarkMessageRead", FIRST_RESULT),
    link("Messages", "DeleteMessage", FIRST_RESULT),
    // A new session can be refreshed and ended.
    Link {
        from: "Login",
        to: "Refresh",
        feed: Feed::Body(r#"{"refresh": "$response.body#/tokens/refresh"}"#),
    },
    Link {
        from: "Register",
        to: "Logout",
        feed: Feed::Body(r#"{"refresh": "$response.body#/tokens/refresh"}"#),
    },
];

fn add_link(doc: &mut Value, l: &Link) {
    let from = find(l.from);
    find(l.to);
    let mut value = Map::new();
    value.insert("operationId".into(), json!(l.to));
    match l.feed {
        Feed::PathId(e) => {
            value.insert("parameters".into(), json!({ "path.id": e }));
        }
        Feed::RoomId(e) => {
            value.insert("parameters".into(), json!({ "query.room_id": e }));
        }
        Feed::Body(body) => {
            let body: Value = serde_json::from_str(body).expect("a link's body is JSON");
            value.insert("requestBody".into(), body);
        }
    }
    let op = operation(doc, from.method, from.path).expect("declared");
    let responses = op["responses"].as_object_mut().expect("answers");
    let mut linked = false;
    for (status, response) in responses.iter_mut() {
        if status.starts_with('2') && response.get("content").is_some() {
            response["links"][l.to] = Value::Object(value.clone());
            linked = true;
        }
    }
    assert!(linked, "{} has no success body to link from", l.from);
}
