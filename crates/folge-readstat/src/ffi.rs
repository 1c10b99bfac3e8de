//! The only `unsafe` code in folge: ReadStat's writer API (`readstat.h` of ReadStat 1.1.8,
//! Debian bookworm's `libreadstat1`), loaded at run time with `libloading`, and driven
//! for one [`Plan`]: variables and label sets declared, rows inserted, the file's bytes
//! collected by a write callback into a `Vec<u8>`.
//!
//! Signatures and enum values are copied from `readstat.h`; each call's SAFETY comment
//! says why its pointers are valid. The writer is freed on every path (`Writer`'s `Drop`).
#![expect(unsafe_code, reason = "calling a C library is what this module is for")]

use std::ffi::{CStr, CString, OsStr, c_char, c_int, c_long, c_void};

use libloading::Library;

use crate::{
    Cell, Error, Format, Measure, Missing, Plan, PlannedVariable, Storage, Values, c_string,
};

/// The file timestamp written into every file (2000-01-01 12:00 UTC), so the same table
/// gives the same bytes. ReadStat formats it with `localtime`, so the text stored shows
/// that moment in the machine's time zone.
pub(crate) const TIMESTAMP: c_long = 946_728_000;

/// Stata's file format written: 118 (Stata 14 and later, UTF-8 throughout).
const DTA_VERSION: u8 = 118;

// `readstat_type_t` (readstat.h).
const TYPE_STRING: c_int = 0;
const TYPE_INT32: c_int = 3;
const TYPE_DOUBLE: c_int = 5;
const TYPE_STRING_REF: c_int = 6;
// `readstat_measure_t`.
const MEASURE_NOMINAL: c_int = 1;
const MEASURE_ORDINAL: c_int = 2;
const MEASURE_SCALE: c_int = 3;
// `readstat_error_t`: `READSTAT_OK`.
const OK: c_int = 0;

/// `readstat_data_writer`: `ssize_t (*)(const void *data, size_t len, void *ctx)`.
type DataWriter = unsafe extern "C" fn(*const c_void, usize, *mut c_void) -> isize;

/// Declares the functions folge calls, each with its C name, and loads them all.
macro_rules! functions {
    ($( $field:ident = $symbol:literal : $ty:ty ),* $(,)?) => {
        /// ReadStat's writer functions, as loaded.
        struct Functions { $( $field: $ty ),* }

        impl Functions {
            /// Look every function up in `library`.
            ///
            /// SAFETY (for callers): each `$ty` must be the C signature of `$symbol` in
            /// `readstat.h`; the pointers are valid only while `library` stays loaded.
            unsafe fn load(library: &Library) -> Result<Self, String> {
                Ok(Functions {
                    $( $field: *unsafe { library.get::<$ty>($symbol) }
                        .map_err(|e| format!("`{}`: {e}", $symbol))?, )*
                })
            }
        }
    };
}

// `readstat_writer_t *`, `readstat_variable_t *`, `readstat_label_set_t *` and
// `readstat_string_ref_t *` are opaque here: `*mut c_void`. `time_t` is `c_long` on the
// 64-bit Linux targets folge builds for.
functions! {
    writer_init = "readstat_writer_init": unsafe extern "C" fn() -> *mut c_void,
    writer_free = "readstat_writer_free": unsafe extern "C" fn(*mut c_void),
    set_data_writer = "readstat_set_data_writer": unsafe extern "C" fn(*mut c_void, DataWriter) -> c_int,
    set_file_label = "readstat_writer_set_file_label": unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    set_file_timestamp = "readstat_writer_set_file_timestamp": unsafe extern "C" fn(*mut c_void, c_long) -> c_int,
    set_file_format_version = "readstat_writer_set_file_format_version": unsafe extern "C" fn(*mut c_void, u8) -> c_int,
    add_note = "readstat_add_note": unsafe extern "C" fn(*mut c_void, *const c_char),
    add_label_set = "readstat_add_label_set": unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> *mut c_void,
    label_int32_value = "readstat_label_int32_value": unsafe extern "C" fn(*mut c_void, i32, *const c_char),
    label_tagged_value = "readstat_label_tagged_value": unsafe extern "C" fn(*mut c_void, c_char, *const c_char),
    add_variable = "readstat_add_variable": unsafe extern "C" fn(*mut c_void, *const c_char, c_int, usize) -> *mut c_void,
    variable_set_label = "readstat_variable_set_label": unsafe extern "C" fn(*mut c_void, *const c_char),
    variable_set_label_set = "readstat_variable_set_label_set": unsafe extern "C" fn(*mut c_void, *mut c_void),
    variable_set_measure = "readstat_variable_set_measure": unsafe extern "C" fn(*mut c_void, c_int),
    variable_set_display_width = "readstat_variable_set_display_width": unsafe extern "C" fn(*mut c_void, c_int),
    variable_add_missing_double_value = "readstat_variable_add_missing_double_value": unsafe extern "C" fn(*mut c_void, f64) -> c_int,
    add_string_ref = "readstat_add_string_ref": unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
    begin_writing_dta = "readstat_begin_writing_dta": unsafe extern "C" fn(*mut c_void, *mut c_void, c_long) -> c_int,
    begin_writing_sav = "readstat_begin_writing_sav": unsafe extern "C" fn(*mut c_void, *mut c_void, c_long) -> c_int,
    begin_row = "readstat_begin_row": unsafe extern "C" fn(*mut c_void) -> c_int,
    insert_int32_value = "readstat_insert_int32_value": unsafe extern "C" fn(*mut c_void, *const c_void, i32) -> c_int,
    insert_double_value = "readstat_insert_double_value": unsafe extern "C" fn(*mut c_void, *const c_void, f64) -> c_int,
    insert_string_value = "readstat_insert_string_value": unsafe extern "C" fn(*mut c_void, *const c_void, *const c_char) -> c_int,
    insert_string_ref = "readstat_insert_string_ref": unsafe extern "C" fn(*mut c_void, *const c_void, *mut c_void) -> c_int,
    insert_missing_value = "readstat_insert_missing_value": unsafe extern "C" fn(*mut c_void, *const c_void) -> c_int,
    insert_tagged_missing_value = "readstat_insert_tagged_missing_value": unsafe extern "C" fn(*mut c_void, *const c_void, c_char) -> c_int,
    end_row = "readstat_end_row": unsafe extern "C" fn(*mut c_void) -> c_int,
    end_writing = "readstat_end_writing": unsafe extern "C" fn(*mut c_void) -> c_int,
    error_message = "readstat_error_message": unsafe extern "C" fn(c_int) -> *const c_char,
}

/// ReadStat, loaded, with the functions folge calls.
pub(crate) struct Api {
    functions: Functions,
    /// Kept loaded for as long as `functions` may be called; declared after it, so it is
    /// dropped after it.
    _library: Library,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadStat")
    }
}

/// The write callback: appends ReadStat's bytes to the `Vec<u8>` that `ctx` points to.
///
/// SAFETY (for ReadStat): `ctx` is the `user_ctx` given to `readstat_begin_writing_*`,
/// which `Api::write` makes from a `Vec<u8>` it neither reads nor moves until the writer
/// is done; `data` points to `len` readable bytes.
unsafe extern "C" fn collect(data: *const c_void, len: usize, ctx: *mut c_void) -> isize {
    if len == 0 {
        return 0;
    }
    // SAFETY: see the function's comment.
    let (out, bytes) = unsafe {
        (&mut *ctx.cast::<Vec<u8>>(), std::slice::from_raw_parts(data.cast::<u8>(), len))
    };
    out.extend_from_slice(bytes);
    isize::try_from(len).unwrap_or(-1)
}

/// A ReadStat writer, freed when dropped.
struct Writer<'a> {
    api: &'a Api,
    raw: *mut c_void,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `readstat_writer_init`, is not null, and is freed once.
        unsafe { (self.api.functions.writer_free)(self.raw) };
    }
}

impl Api {
    /// Load the library `name` and every function folge calls.
    pub(crate) fn load(name: &OsStr) -> Result<Self, String> {
        // SAFETY: loading runs the library's initialisers; ReadStat is a plain C library
        // (it links libc, iconv and zlib) whose loading changes no state of ours.
        let library = unsafe { Library::new(name) }.map_err(|e| e.to_string())?;
        // SAFETY: the signatures in `functions!` are copied from `readstat.h` (1.1.8, the
        // writer API is unchanged since 1.1.0); `library` is kept beside them.
        let functions = unsafe { Functions::load(&library) }?;
        Ok(Api { functions, _library: library })
    }

    /// ReadStat's sentence for an error code.
    fn message(&self, code: c_int) -> String {
        // SAFETY: `readstat_error_message` returns a static, NUL-terminated string for
        // every code (a generic one for unknown codes).
        let text = unsafe { (self.functions.error_message)(code) };
        if text.is_null() {
            return format!("error {code}");
        }
        // SAFETY: not null, NUL-terminated, static (above).
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }

    /// The bytes of `plan`'s file.
    pub(crate) fn write(&self, plan: &Plan<'_>) -> Result<Vec<u8>, Error> {
        let f = &self.functions;
        let fail = |step: &dyn Fn() -> String, message: String| Error::Write {
            table: plan.table.to_owned(),
            format: plan.format.program(),
            step: step(),
            message,
        };
        let check = |code: c_int, step: &dyn Fn() -> String| {
            if code == OK { Ok(()) } else { Err(fail(step, self.message(code))) }
        };
        // SAFETY: no arguments; the result is checked for null below.
        let raw = unsafe { (f.writer_init)() };
        if raw.is_null() {
            return Err(fail(&|| "starting".into(), "out of memory".into()));
        }
        let writer = Writer { api: self, raw };
        let w = writer.raw;
        // SAFETY (every call below that takes `w`): `w` is a live writer (freed only when
        // `writer` drops, after the last call); every `*const c_char` is a `CString` of
        // the plan or of this function that outlives the call (ReadStat copies names,
        // labels, notes and string values into its own memory).
        check(unsafe { (f.set_data_writer)(w, collect) }, &|| "the write callback".into())?;
        check(unsafe { (f.set_file_label)(w, plan.label.as_ptr()) }, &|| "the file label".into())?;
        check(unsafe { (f.set_file_timestamp)(w, TIMESTAMP) }, &|| "the timestamp".into())?;
        if plan.format == Format::Stata {
            check(unsafe { (f.set_file_format_version)(w, DTA_VERSION) }, &|| {
                "the format version".into()
            })?;
        }
        for note in &plan.notes {
            unsafe { (f.add_note)(w, note.as_ptr()) };
        }
        let mut variables: Vec<*mut c_void> = Vec::with_capacity(plan.variables.len());
        for v in &plan.variables {
            let name = || format!("variable `{}`", v.name.to_string_lossy());
            let (kind, width) = match v.storage {
                Storage::Text { width } => (TYPE_STRING, width),
                Storage::LongText => (TYPE_STRING_REF, 0),
                Storage::Integer => (TYPE_INT32, 0),
                Storage::Double => (TYPE_DOUBLE, 0),
            };
            let variable = unsafe { (f.add_variable)(w, v.name.as_ptr(), kind, width) };
            if variable.is_null() {
                return Err(fail(&name, "out of memory".into()));
            }
            // SAFETY (calls taking `variable`): returned by `readstat_add_variable` for
            // `w`, not null, owned by the writer and valid while it lives.
            unsafe { (f.variable_set_label)(variable, v.label.as_ptr()) };
            let measure = match v.measure {
                Measure::Nominal => MEASURE_NOMINAL,
                Measure::Ordinal => MEASURE_ORDINAL,
                Measure::Scale => MEASURE_SCALE,
            };
            unsafe { (f.variable_set_measure)(variable, measure) };
            if let (Format::Stata, Storage::Text { width }) = (plan.format, v.storage) {
                // Shown as wide as the longest value, up to 60 characters (ReadStat's
                // default, 9, cuts a 32-character pseudonym in Stata's display). Not in
                // SPSS, where it would become the string's format width (`A60` on a longer
                // string); there the format is the string's own width.
                let shown = c_int::try_from(width.min(60)).unwrap_or(60);
                unsafe { (f.variable_set_display_width)(variable, shown) };
            }
            if !v.value_labels.is_empty() || !v.tagged_labels.is_empty() {
                // One label set per variable, named after it (a valid Stata name).
                let set = unsafe { (f.add_label_set)(w, TYPE_INT32, v.name.as_ptr()) };
                if set.is_null() {
                    return Err(fail(&name, "out of memory".into()));
                }
                // SAFETY (calls taking `set`): returned by `readstat_add_label_set` for
                // `w`, not null, owned by the writer.
                for (code, label) in &v.value_labels {
                    unsafe { (f.label_int32_value)(set, *code, label.as_ptr()) };
                }
                for (tag, label) in &v.tagged_labels {
                    unsafe { (f.label_tagged_value)(set, *tag as c_char, label.as_ptr()) };
                }
                unsafe { (f.variable_set_label_set)(variable, set) };
            }
            for code in &v.missing_codes {
                check(unsafe { (f.variable_add_missing_double_value)(variable, *code) }, &name)?;
            }
            variables.push(variable);
        }
        let mut out: Vec<u8> = Vec::new();
        let ctx: *mut Vec<u8> = &raw mut out;
        let rows = c_long::try_from(plan.rows)
            .map_err(|_| fail(&|| "starting".into(), "too many rows".into()))?;
        let begin = match plan.format {
            Format::Stata => f.begin_writing_dta,
            Format::Spss => f.begin_writing_sav,
        };
        // SAFETY: `ctx` points to `out`, which is neither read nor moved until the writer
        // is done (see `collect`).
        check(unsafe { begin(w, ctx.cast::<c_void>(), rows) }, &|| "starting".into())?;
        for row in 0..plan.rows {
            check(unsafe { (f.begin_row)(w) }, &|| format!("row {}", row + 1))?;
            for (v, &variable) in plan.variables.iter().zip(&variables) {
                let step = || format!("row {}, variable `{}`", row + 1, v.name.to_string_lossy());
                let code = self.insert(w, variable, plan.format, v, row);
                check(code, &step)?;
            }
            check(unsafe { (f.end_row)(w) }, &|| format!("row {}", row + 1))?;
        }
        check(unsafe { (f.end_writing)(w) }, &|| "finishing".into())?;
        drop(writer);
        Ok(out)
    }

    /// Insert the value of `v` in `row` into the current row of writer `w`.
    fn insert(
        &self,
        w: *mut c_void,
        variable: *mut c_void,
        format: Format,
        v: &PlannedVariable<'_>,
        row: usize,
    ) -> c_int {
        let f = &self.functions;
        // SAFETY (every call in this function): `w` is the live writer of `write`,
        // `variable` one of its variables, declared with `v.storage`, which matches
        // `v.values` (`Plan::new`); C strings outlive the call.
        let missing = |kind: Missing| match (format, kind.stata_tag(), kind.spss_code()) {
            (Format::Stata, Some(tag), _) => unsafe {
                (f.insert_tagged_missing_value)(w, variable, tag as c_char)
            },
            (Format::Spss, _, Some(code)) if v.storage == Storage::Integer => unsafe {
                (f.insert_int32_value)(w, variable, code)
            },
            (Format::Spss, _, Some(code)) => unsafe {
                (f.insert_double_value)(w, variable, f64::from(code))
            },
            _ => unsafe { (f.insert_missing_value)(w, variable) },
        };
        match v.values {
            Values::Text(texts) => {
                let text = texts[row].as_deref().map_or_else(CString::default, c_string);
                if v.storage == Storage::LongText {
                    // Stata's strL: the text goes by reference (ReadStat owns the copy).
                    let reference = unsafe { (f.add_string_ref)(w, text.as_ptr()) };
                    unsafe { (f.insert_string_ref)(w, variable, reference) }
                } else {
                    unsafe { (f.insert_string_value)(w, variable, text.as_ptr()) }
                }
            }
            Values::Integers(cells) => match cells[row] {
                Cell::Value(value) => unsafe { (f.insert_int32_value)(w, variable, value) },
                Cell::Missing(kind) => missing(kind),
            },
            Values::Numbers(cells) => match cells[row] {
                Cell::Value(value) if value.is_finite() => unsafe {
                    (f.insert_double_value)(w, variable, value)
                },
                Cell::Value(_) => missing(Missing::System),
                Cell::Missing(kind) => missing(kind),
            },
        }
    }
}
