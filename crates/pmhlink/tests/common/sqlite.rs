//! A generated town's export rows as a SQLite table, the way a vendor's database might keep
//! them: each column of the declared type `declared` gives it, the text stored as UTF-8 or
//! (as old systems do) as CP932 bytes.

use std::path::Path;

/// A cell's bytes as a database holds them: UTF-8, or CP932 as old systems store it.
pub fn stored(cell: &str, cp932: bool) -> Vec<u8> {
    if cp932 {
        encoding_rs::SHIFT_JIS.encode(cell).0.into_owned()
    } else {
        cell.as_bytes().to_vec()
    }
}

/// `rows` (a header, then the cells) as the table `subsidy` in the SQLite file `db`; a column
/// is of the type `declared(name)` (SQLite converts a number-like text in an INTEGER column to
/// a number, as a database holding identifiers as numbers does).
pub fn load_table(
    rows: &[Vec<String>],
    db: &Path,
    cp932: bool,
    declared: impl Fn(&str) -> &'static str,
) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let header = &rows[0];
    let columns: Vec<String> = header
        .iter()
        .map(|h| format!("\"{h}\" {}", declared(h)))
        .collect();
    conn.execute_batch(&format!("CREATE TABLE subsidy ({})", columns.join(", ")))
        .unwrap();
    // Text as given (bytes bound as text); a typed column applies its affinity.
    let slots: Vec<String> = (1..=header.len())
        .map(|i| format!("CAST(?{i} AS TEXT)"))
        .collect();
    let insert = format!("INSERT INTO subsidy VALUES ({})", slots.join(", "));
    let tx = conn.unchecked_transaction().unwrap();
    {
        let mut stmt = tx.prepare(&insert).unwrap();
        for row in &rows[1..] {
            let cells: Vec<Vec<u8>> = row.iter().map(|c| stored(c, cp932)).collect();
            stmt.execute(rusqlite::params_from_iter(cells.iter()))
                .unwrap();
        }
    }
    tx.commit().unwrap();
}
