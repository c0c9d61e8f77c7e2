//! Files people write by hand: the pipeline file (TOML or YAML, through figment, with no
//! environment), a `lint --site` file, an interface profile and the emulator's faults file.
//! Each either loads or is refused with an error; what loads is used the way its readers use it.

use pmhlink_config::{Env, FileFormat, Pipeline};
use pmhlink_hub_mock::Faults;
use pmhlink_profile::{Layout, Profile};
use pmhlink_rules::SiteTables;

pub fn pipeline(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let (format, origin) = if selector % 2 == 0 {
        (FileFormat::Toml, "fuzz/pipeline.toml")
    } else {
        (FileFormat::Yaml, "fuzz/pipeline.yaml")
    };
    let Ok(pipeline) = Pipeline::from_str_with_env(text, format, origin, &Env::empty()) else {
        return;
    };
    let _ = pipeline.site_tables();
    let _ = pipeline.redacted_json();
    let _ = pipeline.secret_paths();
}

pub fn site(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = toml::from_str::<SiteTables>(text);
}

pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::from_toml_str(text, "fuzz/profile.toml") else {
        return;
    };
    for &api in profile.apis.keys() {
        let _ = Layout::new(&profile, api);
    }
}

/// The faults file (TOML, first byte even) or a `POST /_mock/faults` body (JSON, odd): what
/// loads is valid and writes back as TOML that loads as the same rules.
pub fn faults(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let loaded = if selector % 2 == 0 {
        Faults::from_toml_str(text, "fuzz/faults.toml").ok()
    } else {
        serde_json::from_str::<Faults>(text).ok()
    };
    let Some(faults) = loaded else {
        return;
    };
    if selector % 2 == 0 {
        assert!(faults.validate().is_ok(), "a loaded faults file is valid");
    }
    let written = toml::to_string(&faults).expect("faults write as TOML");
    if let Ok(again) = Faults::from_toml_str(&written, "fuzz/faults.toml") {
        assert_eq!(again, faults, "faults survive writing and reading");
    }
}
