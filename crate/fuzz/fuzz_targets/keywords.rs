#![no_main]
// See webembed::fuzzing::keywords for what the input is.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    webembed::fuzzing::keywords(data);
});
