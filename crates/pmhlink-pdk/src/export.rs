//! The export macros. They generate, in the plugin crate, the `pmhlink_plugin_api_level`
//! symbol and abi_stable's root-module header.
//!
//! The header is written out here instead of using `#[abi_stable::export_root_module]`
//! because that attribute expands to `::abi_stable::…` paths, which would force every plugin
//! to depend on abi_stable directly. The expansion mirrors abi_stable 0.11's; the symbol name is
//! checked against `abi_stable::library::ROOT_MODULE_LOADER_NAME` by a test below.

/// Exports a source plugin.
///
/// `spec: fn() -> PluginSpec`; `open: fn(Config) -> Result<impl SourcePlugin, PluginError>`
/// where `Config: serde::de::DeserializeOwned`. Invoke once, at the crate root of a
/// `cdylib` crate.
///
/// ```ignore
/// pmhlink_pdk::export_source_plugin!(spec, open);
/// ```
#[macro_export]
macro_rules! export_source_plugin {
    ($spec:path, $open:path $(,)?) => {
        $crate::__export_plugin! {
            kind: Source,
            spec: $spec,
            open_source: |config_json| $crate::__private::open_source(config_json, $spec, $open),
            open_sink: |_config_json| $crate::__private::wrong_kind($spec, "source", "sink"),
        }
    };
}

/// Exports a sink plugin; like [`export_source_plugin!`] with
/// `open: fn(Config) -> Result<impl SinkPlugin, PluginError>`.
#[macro_export]
macro_rules! export_sink_plugin {
    ($spec:path, $open:path $(,)?) => {
        $crate::__export_plugin! {
            kind: Sink,
            spec: $spec,
            open_source: |_config_json| $crate::__private::wrong_kind($spec, "sink", "source"),
            open_sink: |config_json| $crate::__private::open_sink(config_json, $spec, $open),
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __root_module_loader_name {
    () => {
        "_1as_0lib_1header_0root_bmodule_bloader"
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    (
        kind: $kind:ident,
        spec: $spec:path,
        open_source: |$src_cfg:ident| $open_source:expr,
        open_sink: |$sink_cfg:ident| $open_sink:expr,
    ) => {
        /// The plugin API level this plugin was built for; read by the host before anything else.
        // `no_mangle` is `unsafe` because names can clash at link time; this name is the
        // protocol, and one plugin exports it once.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn pmhlink_plugin_api_level() -> u32 {
            $crate::api::API_LEVEL
        }

        const _: () = {
            use $crate::__private as __p;

            extern "C" fn __pmhlink_spec() -> __p::RPluginSpec {
                __p::spec(__p::RPluginKind::$kind, $spec)
            }

            extern "C" fn __pmhlink_open_source(
                $src_cfg: __p::RStr<'_>,
            ) -> __p::RResult<__p::SourceBox, __p::RPluginError> {
                $open_source
            }

            extern "C" fn __pmhlink_open_sink(
                $sink_cfg: __p::RStr<'_>,
            ) -> __p::RResult<__p::SinkBox, __p::RPluginError> {
                $open_sink
            }

            fn __pmhlink_root_module() -> __p::PluginModRef {
                __p::root_module(
                    $spec,
                    __pmhlink_spec,
                    __pmhlink_open_source,
                    __pmhlink_open_sink,
                )
            }

            extern "C" fn __pmhlink_load_root_module() -> __p::RootModuleResult {
                __p::__call_root_module_loader(__pmhlink_root_module)
            }

            // The header abi_stable's loader looks up by this fixed name. `export_name` and
            // `from_constructor` are `unsafe` (link-time name, erased module type); the
            // constructor does return a `PluginModRef`, as `from_constructor` requires.
            #[allow(unsafe_code)]
            #[unsafe(export_name = $crate::__root_module_loader_name!())]
            static __PMHLINK_LIB_HEADER: __p::LibHeader = unsafe {
                __p::LibHeader::from_constructor::<__p::PluginModRef>(
                    __pmhlink_load_root_module,
                    __p::CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            crate::__root_module_loader_name!(),
            pmhlink_plugin_api::abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
