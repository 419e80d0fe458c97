//! What is sent: a sample event, or a file.

use std::io::Write as _;
use std::path::Path;

use bytes::Bytes;
use serde_json::Value;
use webhook_core::paymentkit::{object_kind, EVENT_TYPES};
use webhook_core::test_util::fixtures::{sample_event, sample_object};
use webhook_core::MAX_ID_LEN;

use crate::cli::{SendArgs, TriggerArgs};
use crate::UsageError;

/// One event: the body sent, and the id and type it is signed and reported under.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) id: String,
    pub(crate) event_type: String,
    pub(crate) body: Bytes,
}

/// `webhook types`: every type with a sample, and the typed object it carries, if any.
pub(crate) fn print_types() {
    let mut out = std::io::stdout().lock();
    for &event_type in EVENT_TYPES {
        if sample_object(event_type).is_some() {
            let written = match object_kind(event_type) {
                Some(kind) => writeln!(out, "{event_type:<48} {}", kind.model_name()),
                None => writeln!(out, "{event_type}"),
            };
            // A closed pipe (`webhook types | head`) is the reader being done, not an error.
            if written.is_err() {
                return;
            }
        }
    }
}

/// `webhook trigger`: the sample event of the type, under a fresh id unless one is given.
pub(crate) fn sample(args: &TriggerArgs) -> Result<Outgoing, UsageError> {
    let id = match &args.id {
        Some(id) => check_id(id)?.to_owned(),
        None => format!("evt_{}", uuid::Uuid::new_v4().simple()),
    };
    let event_type = args.event_type.as_str();
    let Some(sample) = sample_event(&id, event_type) else {
        return Err(unknown_type(event_type));
    };
    let body = match &args.object {
        None => sample,
        Some(path) => {
            let mut envelope: Value = serde_json::from_str(&sample)
                .map_err(|error| UsageError::new(format!("sample event is not JSON: {error}")))?;
            let object = read_json(path)?.1;
            // Keep the envelope's reference to its object in step with the object sent.
            if let Some(object_id) = object.get("id") {
                envelope["object_id"] = object_id.clone();
            }
            envelope["data"]["object"] = object;
            envelope.to_string()
        }
    };
    Ok(Outgoing {
        id,
        event_type: event_type.to_owned(),
        body: Bytes::from(body),
    })
}

/// `webhook send`: the file's bytes, with the id and type read from it.
pub(crate) fn from_file(args: &SendArgs) -> Result<Outgoing, UsageError> {
    let (bytes, json) = read_json(&args.file)?;
    let file = args.file.display();
    let id = field(&json, "id", args.id.as_deref(), "--id", &file)?;
    let event_type = field(&json, "type", args.event_type.as_deref(), "--type", &file)?;
    Ok(Outgoing {
        id: check_id(&id)?.to_owned(),
        event_type: check_type(&event_type)?.to_owned(),
        body: bytes,
    })
}

/// The top-level string `name` of the file, or the flag's value when the file has none.
fn field(
    json: &Value,
    name: &str,
    flag_value: Option<&str>,
    flag: &str,
    file: &std::path::Display<'_>,
) -> Result<String, UsageError> {
    match (json.get(name), flag_value) {
        (Some(Value::String(value)), None) => Ok(value.clone()),
        (Some(Value::String(value)), Some(given)) if value == given => Ok(value.clone()),
        // The body is sent unchanged, so a different value would be reported but not sent.
        (Some(Value::String(value)), Some(_)) => Err(UsageError::new(format!(
            "{file} has {name} {value:?}; {flag} is only for files without one"
        ))),
        (Some(_), _) => Err(UsageError::new(format!(
            "{file}: top-level \"{name}\" is not a string"
        ))),
        (None, Some(given)) => Ok(given.to_owned()),
        (None, None) => Err(UsageError::new(format!(
            "{file} has no top-level \"{name}\"; pass {flag}"
        ))),
    }
}

/// The file's bytes and their JSON value.
fn read_json(path: &Path) -> Result<(Bytes, Value), UsageError> {
    let bytes = std::fs::read(path)
        .map_err(|error| UsageError::new(format!("cannot read {}: {error}", path.display())))?;
    let json = serde_json::from_slice(&bytes)
        .map_err(|error| UsageError::new(format!("{} is not JSON: {error}", path.display())))?;
    Ok((Bytes::from(bytes), json))
}

/// The limits the receiver puts on ids (`Envelope`), checked before anything is sent.
fn check_id(id: &str) -> Result<&str, UsageError> {
    if (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(id)
    } else {
        Err(UsageError::new(format!(
            "event id {id:?} is not 1 to {MAX_ID_LEN} printable ASCII characters"
        )))
    }
}

fn check_type(event_type: &str) -> Result<&str, UsageError> {
    if (1..=MAX_ID_LEN).contains(&event_type.len())
        && event_type.bytes().all(|b| b.is_ascii_graphic())
    {
        Ok(event_type)
    } else {
        Err(UsageError::new(format!(
            "event type {event_type:?} is not 1 to {MAX_ID_LEN} printable ASCII characters"
        )))
    }
}

fn unknown_type(event_type: &str) -> UsageError {
    // Suggest the types of the same family (`invoice.pai` -> `invoice.*`).
    let family = event_type.split('.').next().unwrap_or(event_type);
    let similar: Vec<&str> = EVENT_TYPES
        .iter()
        .copied()
        .filter(|known| known.split('.').next() == Some(family))
        .take(8)
        .collect();
    let hint = if similar.is_empty() {
        String::new()
    } else {
        format!(" (did you mean one of: {})", similar.join(", "))
    };
    UsageError::new(format!(
        "no sample event of type {event_type:?}{hint}; `webhook types` lists them"
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cli::{SchemeArg, Target};

    fn target() -> Target {
        Target {
            url: "http://127.0.0.1:1/".to_owned(),
            scheme: SchemeArg::Paymentkit,
            secret: Some("whsec_test".to_owned()),
            timeout: 1,
        }
    }

    fn trigger(event_type: &str, id: Option<&str>, object: Option<PathBuf>) -> TriggerArgs {
        TriggerArgs {
            event_type: event_type.to_owned(),
            target: target(),
            id: id.map(str::to_owned),
            times: 1,
            object,
        }
    }

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("webhook-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn sample_has_the_given_id_and_type() {
        let event = sample(&trigger(
            "payment_intent.succeeded",
            Some("evt_given"),
            None,
        ))
        .unwrap();
        let json: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(json["id"], "evt_given");
        assert_eq!(json["type"], "payment_intent.succeeded");
        assert_eq!(event.id, "evt_given");
    }

    #[test]
    fn fresh_ids_differ() {
        let first = sample(&trigger("invoice.paid", None, None)).unwrap();
        let second = sample(&trigger("invoice.paid", None, None)).unwrap();
        assert!(first.id.starts_with("evt_"));
        assert_ne!(first.id, second.id);
    }

    #[test]
    fn unknown_types_and_bad_ids_are_usage_errors() {
        let error = sample(&trigger("invoice.pai", None, None)).unwrap_err();
        assert!(error.0.contains("invoice.paid"), "{error}");
        assert!(sample(&trigger("invoice.paid", Some("evt \"x\""), None)).is_err());
        assert!(sample(&trigger("invoice.paid", Some(""), None)).is_err());
    }

    #[test]
    fn object_file_replaces_the_sample_object() {
        let path = temp_file("object.json", r#"{"id":"in_mine","amount_due":"1"}"#);
        let event = sample(&trigger("invoice.paid", Some("evt_o"), Some(path.clone()))).unwrap();
        std::fs::remove_file(path).unwrap();
        let json: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(json["data"]["object"]["id"], "in_mine");
        assert_eq!(json["object_id"], "in_mine");
        assert_eq!(json["id"], "evt_o");
    }

    #[test]
    fn file_id_and_type_are_read_or_required() {
        let send = |file: PathBuf, id: Option<&str>, event_type: Option<&str>| SendArgs {
            file,
            target: target(),
            id: id.map(str::to_owned),
            event_type: event_type.map(str::to_owned),
            times: 1,
        };
        let body = r#"{"id":"evt_f","type":"invoice.paid","data":{"object":{}}}"#;
        let full = temp_file("full.json", body);
        let event = from_file(&send(full.clone(), None, None)).unwrap();
        assert_eq!(
            (event.id.as_str(), event.event_type.as_str()),
            ("evt_f", "invoice.paid")
        );
        assert_eq!(event.body, body.as_bytes());
        assert!(from_file(&send(full.clone(), Some("evt_other"), None)).is_err());
        std::fs::remove_file(full).unwrap();

        let bare = temp_file("bare.json", r#"{"action":"opened"}"#);
        let error = from_file(&send(bare.clone(), None, None)).unwrap_err();
        assert!(error.0.contains("--id"), "{error}");
        let event = from_file(&send(bare.clone(), Some("d-1"), Some("issues.opened"))).unwrap();
        assert_eq!(
            (event.id.as_str(), event.event_type.as_str()),
            ("d-1", "issues.opened")
        );
        std::fs::remove_file(bare).unwrap();

        let not_json = temp_file("bad.json", "{");
        assert!(from_file(&send(not_json.clone(), None, None)).is_err());
        std::fs::remove_file(not_json).unwrap();
        assert!(from_file(&send(PathBuf::from("/nonexistent/x.json"), None, None)).is_err());
    }
}
