//! Configuration parsing whose errors name the key, never the value (configs hold passwords
//! and paths to personal data).

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::PluginError;

/// Parses a plugin's configuration JSON into `C`.
///
/// Errors are [`RErrorKind::Config`](crate::api::RErrorKind::Config), name the key path
/// (e.g. `rows[1][0]`) as their location, and keep serde's description of what was expected
/// while dropping the offending value. Use `#[serde(deny_unknown_fields)]` on config structs
/// so misspelt keys are reported instead of ignored.
pub fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, PluginError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let config = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| config_error(&err.path().to_string(), err.inner()))?;
    de.end().map_err(|err| config_error(".", &err))?;
    Ok(config)
}

fn config_error(path: &str, inner: &serde_json::Error) -> PluginError {
    let text = inner.to_string();
    // serde_json appends " at line L column C"; the position is reported below.
    let text = match text.rfind(" at line ") {
        Some(i) if inner.line() > 0 => &text[..i],
        _ => &text[..],
    };
    let (what, path) = match inner.classify() {
        Category::Data => (redact_value(text), path),
        // The key path of a syntax error is meaningless (`?`); the position says it all.
        Category::Syntax | Category::Eof | Category::Io => (format!("not valid JSON: {text}"), "."),
    };
    let key = if path == "." {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    // A data error is located by its key path; the line and column would be positions in
    // the JSON the host builds from the pipeline file, which the operator never sees.
    let position = match inner.classify() {
        Category::Data => String::new(),
        _ => format!(" (line {}, column {})", inner.line(), inner.column()),
    };
    let error = PluginError::config(format!("config{key}: {what}{position}"));
    if path == "." { error } else { error.at(path) }
}

/// serde's data errors quote the offending value (`invalid type: string "hunter2", expected
/// u32`); keep the kind of problem and what was expected.
fn redact_value(text: &str) -> String {
    const VALUE_BEARING: [&str; 3] = ["invalid type", "invalid value", "unknown variant"];
    for prefix in VALUE_BEARING {
        if text.starts_with(prefix) {
            return match text.find(", expected") {
                Some(i) => format!("{prefix}{}", &text[i..]),
                None => prefix.to_owned(),
            };
        }
    }
    text.to_owned()
}

/// Checks a list of names a configuration gives under `key` (columns, fields): none blank,
/// none twice. The error is at `key[i]` and names the repeated name (a setting's value the
/// operator wrote, never data).
pub fn unique_names(key: &str, names: &[String]) -> Result<(), PluginError> {
    for (i, name) in names.iter().enumerate() {
        let at = format!("{key}[{i}]");
        if name.trim().is_empty() {
            return Err(PluginError::config(format!("`{at}` is empty")).at(at));
        }
        if names[..i].contains(name) {
            return Err(PluginError::config(format!("`{key}` names `{name}` twice")).at(at));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        path: String,
        retries: u32,
        #[serde(default)]
        mode: Option<Mode>,
        #[serde(default)]
        rows: Vec<Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
    }

    fn err(json: &str) -> PluginError {
        parse_config::<Cfg>(json).unwrap_err()
    }

    #[test]
    fn wrong_type_names_the_key_not_the_value() {
        let e = err(r#"{"path": "x", "retries": "hunter2"}"#);
        assert_eq!(e.kind, pmhlink_plugin_api::RErrorKind::Config);
        assert!(e.message.contains("`retries`"), "{e}");
        assert!(e.message.contains("expected u32"), "{e}");
        assert!(!e.message.contains("hunter2"), "{e}");
        assert_eq!(e.location.as_deref(), Some("retries"));
        // No position in the JSON the host built: the key path is the location.
        assert_eq!(e.message, "config at `retries`: invalid type, expected u32");
    }

    #[test]
    fn nested_paths_and_variants_are_redacted() {
        let e = err(r#"{"path": "x", "retries": 1, "rows": [["a", 7]]}"#);
        assert_eq!(e.location.as_deref(), Some("rows[0][1]"), "{e}");
        let e = err(r#"{"path": "x", "retries": 1, "mode": "s3cret"}"#);
        assert!(!e.message.contains("s3cret"), "{e}");
        assert!(e.message.contains("`fast`"), "{e}");
    }

    #[test]
    fn missing_and_unknown_keys_are_named() {
        assert!(
            err(r#"{"path": "x"}"#)
                .message
                .contains("missing field `retries`")
        );
        let e = err(r#"{"path": "x", "retries": 1, "retires": 2}"#);
        assert!(e.message.contains("unknown field `retires`"), "{e}");
    }

    #[test]
    fn names_must_be_given_and_distinct() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(unique_names("columns", &names(&["a", "b"])).is_ok());
        let e = unique_names("columns", &names(&["a", " "])).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.location.as_deref()),
            ("`columns[1]` is empty", Some("columns[1]"))
        );
        let e = unique_names("columns", &names(&["a", "b", "a"])).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.location.as_deref()),
            ("`columns` names `a` twice", Some("columns[2]"))
        );
    }

    #[test]
    fn syntax_errors_carry_the_position() {
        let e = err("{\"path\": \"x\",\n \"retries\": 1,}");
        assert!(e.message.starts_with("config: not valid JSON"), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
        assert!(
            err(r#"{"path": "x", "retries": 1} extra"#)
                .message
                .contains("not valid JSON")
        );
    }
}
