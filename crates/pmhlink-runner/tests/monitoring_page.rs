//! `docs/monitoring.md`'s metrics table is generated from the metric families
//! (`pmhlink_runner::monitor::FAMILIES`) and kept in step with them.

use std::path::Path;

const BEGIN: &str = "<!-- metrics:begin (generated from crates/pmhlink-runner/src/monitor.rs: cargo xtask docs) -->\n";
const END: &str = "<!-- metrics:end -->";

#[test]
fn the_metrics_table_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/monitoring.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let expected = pmhlink_runner::monitor::with_reference_table(&page)
        .expect("docs/monitoring.md has the metrics markers");
    if std::env::var_os("PMHLINK_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    assert!(
        page == expected,
        "docs/monitoring.md's metrics table differs from monitor.rs: run `cargo xtask docs`"
    );
    assert!(page.contains(BEGIN) && page.contains(END));
    for f in pmhlink_runner::monitor::FAMILIES {
        assert!(page.contains(&format!("| `{}` |", f.name)), "{}", f.name);
    }
}
