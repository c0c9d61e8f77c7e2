//! `docs/plugin-guide.md` copies code from this crate, each block marked
//! `<!-- excerpt: <path> -->`; this test fails when a block is no longer in its file.
//! (Repository housekeeping: a vendor starting from this crate can delete this file.)

use std::{fs, path::Path};

#[test]
fn guide_excerpts_match_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = fs::read_to_string(root.join("docs/plugin-guide.md")).unwrap();
    let mut lines = guide.lines();
    let mut checked = 0;
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- excerpt: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "no code block after the excerpt mark of {path}"
        );
        let excerpt = lines
            .by_ref()
            .take_while(|l| *l != "```")
            .collect::<Vec<_>>()
            .join("\n");
        let source = fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("docs/plugin-guide.md quotes {path}: {e}"));
        assert!(
            source.contains(&excerpt),
            "docs/plugin-guide.md quotes code that is no longer in {path}; update the guide:\n{excerpt}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} excerpts found");
}
