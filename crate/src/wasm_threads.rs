//! The thread pool of the shared-memory build (wasm atomics; compiled only there). rayon's threads
//! run in web workers (worker threads in Node) that the package starts, each instantiating this
//! module on the same memory. Written here rather than taken from wasm-bindgen-rayon because that
//! crate's workers re-import one global copy of the glue by a fixed relative path, while each
//! webembed model owns its own glue copy and instance (glue-factory.mjs).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use wasm_bindgen::prelude::*;

use crate::backend::cpu::parallel;

/// Hands rayon's threads to the workers that will run them.
#[wasm_bindgen(js_name = ThreadStarter)]
pub struct ThreadStarter {
    threads: usize,
    sender: Sender<rayon::ThreadBuilder>,
    // Leaked on purpose: every worker reads it by address, for the life of the instance.
    receiver: &'static Mutex<Receiver<rayon::ThreadBuilder>>,
}

#[wasm_bindgen(js_class = ThreadStarter)]
impl ThreadStarter {
    #[wasm_bindgen(constructor)]
    pub fn new(threads: usize) -> ThreadStarter {
        let (sender, receiver) = channel();
        ThreadStarter { threads: threads.max(1), sender, receiver: Box::leak(Box::new(Mutex::new(receiver))) }
    }

    /// The address each worker passes to `runThread`.
    #[wasm_bindgen(getter)]
    pub fn receiver(&self) -> usize {
        self.receiver as *const _ as usize
    }

    /// Builds the pool the CPU backend runs in (not rayon's global one: this one can end).
    pub fn build(self) -> Result<(), JsError> {
        let sender = self.sender;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .spawn_handler(move |thread| sender.send(thread).map_err(|e| std::io::Error::other(e.to_string())))
            .build()
            .map_err(|e| JsError::new(&format!("could not start the thread pool: {e}")))?;
        parallel::set_pool(Some(pool));
        Ok(())
    }
}

/// Ends the pool: its threads leave `runThread` once idle, so their workers can close. A browser
/// does not end a worker blocked in a wait when it is terminated; this wakes them first.
#[wasm_bindgen(js_name = stopThreads)]
pub fn stop_threads() {
    parallel::set_pool(None);
}

/// A worker's whole life: takes one of rayon's threads and runs it, until `stopThreads`.
#[wasm_bindgen(js_name = runThread)]
pub fn run_thread(receiver: usize) {
    // SAFETY: `receiver` is the address ThreadStarter::receiver gave out; the Mutex is leaked, so
    // it lives as long as the instance.
    let receiver = unsafe { &*(receiver as *const Mutex<Receiver<rayon::ThreadBuilder>>) };
    let thread = match receiver.lock() {
        Ok(guard) => guard.recv(),
        Err(_) => return,
    };
    if let Ok(thread) = thread {
        thread.run();
    }
}
