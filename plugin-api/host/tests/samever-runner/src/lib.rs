//! A plugin whose root module claims the host's sqlflow-plugin-api version (taken from
//! the crate itself, so it follows every bump) but has another layout: what a release
//! that changed the ABI without bumping the version would produce. The loader must
//! still refuse it, through abi_stable's layout check.

#![allow(non_local_definitions)]

const PLUGIN_NAME: &str = "samever";
const PLUGIN_VERSION: abi_stable::sabi_types::VersionStrings =
    <sqlflow_plugin_api::RunnerPluginRef as abi_stable::library::RootModule>::VERSION_STRINGS;

// The old-ABI fixture's root module, with this version.
include!("../../../../../tests/fixtures/oldabi-runner/src/root_module.rs");
