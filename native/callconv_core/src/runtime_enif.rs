//! The `enif_*` API, one row per function in `erl_nif_api_funcs.h` order (OTP 29.0.2), with
//! the NIF version whose header first declared it and whether an LP64 Unix `beam.smp` exports
//! a symbol of that name (four `*int64` functions are macros there).
//!
//! Data from the `ERL_NIF_API_FUNC_DECL` lists of OTP's `erl_nif_api_funcs.h` across releases
//! (see `docs/design/beam-facts.md`); regenerate from the headers rather than edit by hand.
//! The index is also the function's slot in Windows' `TWinDynNifCallbacks`.
//! The lookups above the table are hand-written; `target` uses them too, so they live
//! here, below both `target` and `runtime` (re-exported by `runtime`).
//!
//! Over 800 lines because it is a data table, one row per `enif_*` function.
//!
//! Why this file is long (about 980 lines): it is the table itself, one row per `enif_*`
//! function, and its lookups.

/// One `enif_*` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnifFunction {
    /// The symbol name.
    pub name: &'static str,
    /// The NIF version (major, minor) whose header first declared it.
    pub since: (i32, i32),
    /// Whether an LP64 Unix `beam.smp` exports it as a symbol.
    pub lp64_symbol: bool,
}

/// The `enif_*` symbols a runtime of NIF version `nif` exports, as the headers say. On LP64
/// Unix the four `*int64` functions are macros and have no symbol.
pub fn enif_symbols(nif: (i32, i32), lp64_unix: bool) -> Vec<String> {
    ENIF_FUNCTIONS
        .iter()
        .filter(|f| f.since <= nif && (f.lp64_symbol || !lp64_unix))
        .map(|f| f.name.to_string())
        .collect()
}

/// Whether a runtime of this word size and OS has `long` of 64 bits, so that the four
/// `*int64` functions are macros rather than symbols (LP64 Unix; Windows is LLP64).
pub fn lp64_unix(bits: u32, os: &str) -> bool {
    bits == 64 && os != "windows"
}

/// The `enif_*` symbols of a runtime of `bits` and `os`, given the list `known` read for a
/// runtime of another platform: from the table when the NIF version is known, else `known`
/// with the word-size-dependent functions added or removed.
pub fn enif_symbols_for(
    nif: Option<(i32, i32)>,
    known: Vec<String>,
    bits: u32,
    os: &str,
) -> Vec<String> {
    let lp64 = lp64_unix(bits, os);
    if let Some(nif) = nif {
        return enif_symbols(nif, lp64);
    }
    let mut names: Vec<String> = known
        .into_iter()
        .filter(|n| !lp64 || enif_function(n).is_none_or(|f| f.lp64_symbol))
        .collect();
    if !lp64 {
        for f in ENIF_FUNCTIONS.iter().filter(|f| !f.lp64_symbol) {
            if !names.iter().any(|n| n == f.name) {
                names.push(f.name.to_string());
            }
        }
    }
    names
}

/// The API function named `name`, if it is one.
pub fn enif_function(name: &str) -> Option<&'static EnifFunction> {
    ENIF_FUNCTIONS.iter().find(|f| f.name == name)
}

/// The NIF version that first declared `name`, if it is an API function at all.
pub fn enif_since(name: &str) -> Option<(i32, i32)> {
    enif_function(name).map(|f| f.since)
}

/// Every `enif_*` function, in header (and Windows callback-table) order.
pub const ENIF_FUNCTIONS: &[EnifFunction] = &[
    EnifFunction {
        name: "enif_priv_data",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_alloc",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_free",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_atom",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_binary",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_ref",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_inspect_binary",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_alloc_binary",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_realloc_binary",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_release_binary",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_int",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_ulong",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_double",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_list_cell",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_tuple",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_identical",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_compare",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_binary",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_badarg",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_int",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_ulong",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_double",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_atom",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_existing_atom",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_tuple",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_list",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_list_cell",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_string",
        since: (0, 1),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_ref",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_destroy",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_trylock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_lock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_unlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_destroy",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_signal",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_broadcast",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_wait",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_destroy",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_tryrlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_rlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_runlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_tryrwlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_rwlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_rwunlock",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_tsd_key_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_tsd_key_destroy",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_tsd_set",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_tsd_get",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_opts_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_opts_destroy",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_create",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_self",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_equal_tids",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_exit",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_join",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_realloc",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_system_info",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_fprintf",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_inspect_iolist_as_binary",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_sub_binary",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_string",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_atom",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_fun",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_pid",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_port",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_uint",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_long",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_uint",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_long",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_tuple_from_array",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_list_from_array",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_empty_list",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_open_resource_type",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_alloc_resource",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_release_resource",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_resource",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_resource",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_sizeof_resource",
        since: (1, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_new_binary",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_list",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_tuple",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_atom_length",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_list_length",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_atom_len",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_existing_atom_len",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_string_len",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_alloc_env",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_free_env",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_clear_env",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_send",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_copy",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_self",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_local_pid",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_keep_resource",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_resource_binary",
        since: (2, 0),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_int64",
        since: (2, 0),
        lp64_symbol: false,
    },
    EnifFunction {
        name: "enif_get_uint64",
        since: (2, 0),
        lp64_symbol: false,
    },
    EnifFunction {
        name: "enif_make_int64",
        since: (2, 0),
        lp64_symbol: false,
    },
    EnifFunction {
        name: "enif_make_uint64",
        since: (2, 0),
        lp64_symbol: false,
    },
    EnifFunction {
        name: "enif_is_exception",
        since: (2, 2),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_reverse_list",
        since: (2, 3),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_number",
        since: (2, 3),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_dlopen",
        since: (2, 4),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_dlsym",
        since: (2, 4),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_consume_timeslice",
        since: (2, 4),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_map",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_map_size",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_new_map",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_map_put",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_map_value",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_map_update",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_map_remove",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_create",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_destroy",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_is_head",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_is_tail",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_next",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_prev",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_map_iterator_get_pair",
        since: (2, 6),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_schedule_nif",
        since: (2, 7),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_has_pending_exception",
        since: (2, 8),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_raise_exception",
        since: (2, 8),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_getenv",
        since: (2, 9),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_monotonic_time",
        since: (2, 10),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_time_offset",
        since: (2, 10),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_convert_time_unit",
        since: (2, 10),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_now_time",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cpu_time",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_unique_integer",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_current_process_alive",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_process_alive",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_port_alive",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_local_port",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_term_to_binary",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_binary_to_term",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_port_command",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_type",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_snprintf",
        since: (2, 11),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_select",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_open_resource_type_x",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_monitor_process",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_demonitor_process",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_compare_monitors",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_hash",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_whereis_pid",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_whereis_port",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_create",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_destroy",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_enq_binary",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_enqv",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_size",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_deq",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_peek",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_inspect_iovec",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_free_iovec",
        since: (2, 12),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_ioq_peek_head",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_mutex_name",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_cond_name",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_rwlock_name",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_thread_name",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_vfprintf",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_vsnprintf",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_map_from_arrays",
        since: (2, 14),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_select_x",
        since: (2, 15),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_monitor_term",
        since: (2, 15),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_set_pid_undefined",
        since: (2, 15),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_is_pid_undefined",
        since: (2, 15),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_term_type",
        since: (2, 15),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_init_resource_type",
        since: (2, 16),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_dynamic_resource_call",
        since: (2, 16),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_string_length",
        since: (2, 17),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_new_atom",
        since: (2, 17),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_make_new_atom_len",
        since: (2, 17),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_set_option",
        since: (2, 17),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_term_size",
        since: (2, 18),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_get_atom_cache_index",
        since: (2, 18),
        lp64_symbol: true,
    },
    EnifFunction {
        name: "enif_max_atom_cache_index",
        since: (2, 18),
        lp64_symbol: true,
    },
];
