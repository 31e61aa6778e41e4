//! `gen/openapi.json` is generated from the routes; this fails when it is stale.
//! Refresh it with: `KINTARA_UPDATE_GEN=1 cargo test -p kintara-server --test openapi`.

use std::path::Path;

#[test]
fn gen_openapi_json_is_fresh() {
    let doc = kintara_server::routes::openapi();
    let text = serde_json::to_string_pretty(&doc).expect("serialisable") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gen/openapi.json");
    if std::env::var_os("KINTARA_UPDATE_GEN").is_some() {
        std::fs::write(&path, &text).expect("write gen/openapi.json");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == text,
        "gen/openapi.json is stale; run `KINTARA_UPDATE_GEN=1 cargo test -p kintara-server --test openapi`"
    );
}

#[test]
fn every_spec_path_of_the_first_slice_is_documented() {
    let doc = kintara_server::routes::openapi();
    for path in [
        "/api/auth/register/",
        "/api/auth/login/",
        "/api/auth/refresh/",
        "/api/auth/logout/",
        "/api/auth/me/",
        "/api/auth/me/update/",
        "/api/auth/health/",
        "/api/incidents/",
        "/api/incidents/{id}/",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} is missing from the OpenAPI document"
        );
    }
}

#[test]
fn enum_schemas_list_the_wire_strings() {
    use kintara_api::*;
    let doc = serde_json::to_value(kintara_server::routes::openapi()).expect("serialisable");
    let check = |name: &str, wire: Vec<&str>| {
        let listed = &doc["components"]["schemas"][name]["enum"];
        assert_eq!(
            listed,
            &serde_json::json!(wire),
            "{name} in gen/openapi.json"
        );
    };
    check("Role", Role::ALL.iter().map(|v| v.as_str()).collect());
    check(
        "ProviderType",
        ProviderType::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "IncidentType",
        IncidentType::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "IncidentStatus",
        IncidentStatus::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "UrgencyLevel",
        UrgencyLevel::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "SupportService",
        SupportService::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "AssignmentStatus",
        AssignmentStatus::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "NotificationType",
        NotificationType::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check("Channel", Channel::ALL.iter().map(|v| v.as_str()).collect());
    check(
        "Platform",
        Platform::ALL.iter().map(|v| v.as_str()).collect(),
    );
    check(
        "PushKind",
        PushKind::ALL.iter().map(|v| v.as_str()).collect(),
    );
    // Every frame type is one variant of `Event`, each with its payload's schema.
    let variants: Vec<&str> = doc["components"]["schemas"]["Event"]["oneOf"]
        .as_array()
        .expect("Event is one of its frames")
        .iter()
        .map(|v| v["properties"]["type"]["enum"][0].as_str().expect("a type"))
        .collect();
    let wire: Vec<&str> = kintara_api::EventType::ALL
        .iter()
        .map(|v| v.as_str())
        .collect();
    assert_eq!(variants, wire, "Event in gen/openapi.json");
}

/// The router (and so the document) serves exactly the endpoints `kintara_api::endpoint`
/// declares, each with the declared method, and asks for a token exactly where the declaration
/// says one is needed.
#[test]
fn the_document_serves_exactly_the_declared_endpoints() {
    use kintara_api::endpoint::{Access, ALL};
    let doc = serde_json::to_value(kintara_server::routes::openapi()).expect("serialisable");
    let mut served = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("methods") {
            let secured = op.get("security").is_some();
            served.insert((method.to_uppercase(), path.clone(), secured));
        }
    }
    let declared: std::collections::BTreeSet<_> = ALL
        .iter()
        .map(|e| {
            let secured = e.access != Access::Public;
            (e.method.as_str().to_owned(), e.path.to_owned(), secured)
        })
        .collect();
    let only_served: Vec<_> = served.difference(&declared).collect();
    let only_declared: Vec<_> = declared.difference(&served).collect();
    assert!(
        only_served.is_empty() && only_declared.is_empty(),
        "served but not declared (or with other security): {only_served:?}; \
         declared but not served: {only_declared:?}"
    );
}

/// Every link leads somewhere real: its target operation exists and takes the parameter it
/// fills, and each `$response.body#/..` pointer names a field the source's answer schema has
/// (so a client, or schemathesis's stateful phase, gets a real id from it).
#[test]
fn every_link_resolves() {
    use serde_json::Value;
    let doc = kintara_server::routes::openapi();
    let schemas = &doc["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        let mut s = s.clone();
        while let Some(r) = s.get("$ref").and_then(Value::as_str).map(str::to_owned) {
            s = schemas[r.trim_start_matches("#/components/schemas/")].clone();
        }
        s
    };
    // The schema of `key` inside `schema`: an object's property (also in allOf/oneOf parts), or
    // an array's items for a number.
    fn step(schema: &Value, key: &str, resolve: &dyn Fn(&Value) -> Value) -> Option<Value> {
        let schema = resolve(schema);
        let direct = if key.parse::<usize>().is_ok() {
            schema.get("items")
        } else {
            schema["properties"].get(key)
        };
        if let Some(found) = direct {
            return Some(resolve(found));
        }
        ["allOf", "oneOf", "anyOf"].iter().find_map(|k| {
            schema[*k]
                .as_array()?
                .iter()
                .find_map(|part| step(part, key, resolve))
        })
    }
    let mut ops = std::collections::HashMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            ops.insert(op["operationId"].as_str().unwrap().to_owned(), op.clone());
        }
    }
    let mut links = 0;
    for (name, op) in &ops {
        for (status, response) in op["responses"].as_object().unwrap() {
            let Some(found) = response.get("links").and_then(Value::as_object) else {
                continue;
            };
            let body = &response["content"]["application/json"]["schema"];
            for (to, link) in found {
                links += 1;
                let target = ops
                    .get(link["operationId"].as_str().unwrap())
                    .unwrap_or_else(|| panic!("{name} → {to}: no such operation"));
                let mut expressions: Vec<String> = Vec::new();
                for (param, e) in link["parameters"].as_object().into_iter().flatten() {
                    let (place, pname) = param.split_once('.').unwrap();
                    let takes = target["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["in"] == place && p["name"] == pname);
                    assert!(takes, "{name} → {to}: the target takes no {param}");
                    expressions.push(e.as_str().unwrap().to_owned());
                }
                if let Some(b) = link["requestBody"].as_object() {
                    assert!(
                        target.get("requestBody").is_some(),
                        "{name} → {to}: no body"
                    );
                    for v in b.values().filter_map(Value::as_str) {
                        if v.starts_with('$') {
                            expressions.push(v.to_owned());
                        }
                    }
                }
                for e in expressions {
                    if e == "$request.path.id" {
                        let has = op["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|p| p["in"] == "path" && p["name"] == "id");
                        assert!(has, "{name} {status} → {to}: {e} but no path id");
                        continue;
                    }
                    let pointer = e
                        .strip_prefix("$response.body#/")
                        .unwrap_or_else(|| panic!("{name} → {to}: unexpected expression {e}"));
                    let mut at = body.clone();
                    for key in pointer.split('/') {
                        at = step(&at, key, &resolve).unwrap_or_else(|| {
                            panic!("{name} {status} → {to}: {e} is not in the answer")
                        });
                    }
                    // Ids are ids; anything else (a refresh token) is at least text.
                    if pointer.ends_with("id") || pointer.ends_with("room") {
                        let what = format!("{name} {status} → {to}: {e} is not an id");
                        assert_eq!(at["format"], "uuid", "{what}");
                    } else {
                        assert_eq!(at["type"], "string", "{name} {status} → {to}: {e}");
                    }
                }
            }
        }
    }
    assert!(links >= 40, "only {links} links");
}
