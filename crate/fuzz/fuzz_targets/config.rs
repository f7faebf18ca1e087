#![no_main]
// See webembed::fuzzing::config for what the input is.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    webembed::fuzzing::config(data);
});
