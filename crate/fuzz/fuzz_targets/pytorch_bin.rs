#![no_main]
// See webembed::fuzzing::pytorch_bin for what the input is.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    webembed::fuzzing::pytorch_bin(data);
});
