//! The `odbc` source plugin: WIP doc.

mod connect;
mod read;
mod types;

use pmhlink_pdk::{PluginError, PluginSpec};
use pmhlink_sql::{DbConfig, DbSource};

pub use pmhlink_sql::DbConfig as Config;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "odbc",
        env!("CARGO_PKG_VERSION"),
        "Reads a query or a table through an ODBC driver (unixODBC or the Windows driver manager), in one read-only transaction where the driver allows, fetched in fetch_size blocks.",
    )
    .config_schema_of::<DbConfig>()
    .capability("utf-8")
    .capability("cp932")
}

pub type OdbcSource = DbSource<connect::Target>;

pub fn open(config: DbConfig) -> Result<OdbcSource, PluginError> {
    connect::Target::new(config).map(DbSource::new)
}

pmhlink_pdk::export_source_plugin!(spec, open);
