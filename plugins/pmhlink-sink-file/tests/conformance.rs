//! The pdk's conformance kit: the sink loads through the real host code, refuses bad configs
//! without quoting them, and a committed run is final while a discarded one leaves nothing.

use std::fs;

use pmhlink_pdk::conformance::{SinkKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    let out = tempfile::tempdir().unwrap();
    let (committed, discarded) = (out.path().to_owned(), out.path().to_owned());
    SinkKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(json!({"dir": out.path()}))
        .bad_config(json!({"dir": ""}), "`dir`")
        .bad_config(json!({"dir": 12345}), "`dir`")
        .bad_config(
            json!({"dir": out.path(), "file_name": "{api}-{date}.{ext}"}),
            "`file_name`",
        )
        .bad_config(
            json!({"dir": out.path(), "overwrite": "sure"}),
            "`overwrite`",
        )
        .committed(move |run| {
            let folder = committed.join(run);
            let manifest =
                fs::read_to_string(folder.join("manifest.json")).map_err(|e| e.to_string())?;
            let manifest: serde_json::Value =
                serde_json::from_str(&manifest).map_err(|e| e.to_string())?;
            let payload = fs::read(folder.join("E06-001.json")).map_err(|e| e.to_string())?;
            (manifest["run_id"] == run && manifest["files"][0]["bytes"] == payload.len())
                .then_some(())
                .ok_or_else(|| format!("unexpected manifest {manifest}"))
        })
        .discarded(move |run| {
            let left: Vec<_> = fs::read_dir(&discarded)
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains(run))
                .collect();
            left.is_empty()
                .then_some(())
                .ok_or_else(|| format!("{} entries left", left.len()))
        })
        .run();
}
