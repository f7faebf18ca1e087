//! Row-wise work split over rayon's threads. Where rayon has threads (natively, and the wasm
//! build with shared memory and a started pool) the parts run at once; in the other wasm builds
//! rayon runs them in order on the calling thread. Each row is computed by the same code either
//! way, so results do not depend on the thread count.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

/// The pool the CPU backend runs in, when one was started (the shared-memory wasm build);
/// otherwise rayon's global pool (native threads, or the calling thread alone in wasm).
static POOL: Mutex<Option<Arc<rayon::ThreadPool>>> = Mutex::new(None);

/// Makes `pool` the one work runs in; `None` drops it, and its threads end once idle.
pub fn set_pool(pool: Option<rayon::ThreadPool>) {
    if let Ok(mut slot) = POOL.lock() {
        *slot = pool.map(Arc::new);
    }
}

/// Runs `f` in the started pool, if any (so that its parallel parts use that pool's threads).
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let pool = POOL.lock().ok().and_then(|slot| slot.clone());
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// Rows below this per part cost more to hand out than they save.
const MIN_ROWS_PER_PART: usize = 8;

/// Threads that can work at once (1 where rayon has none).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// How many parts to cut work into: one per thread, none smaller than `min` items. (Inside a
/// pool thread too: a thread that comes free early takes over half of another's rows.)
fn parts(items: usize, min: usize) -> usize {
    threads().min(items / min.max(1)).max(1)
}

/// `f(x_rows, count)` → `count × out_width` values, run over parts of `x` (`rows × in_width`),
/// joined back in row order.
pub fn map_rows(x: &[f32], rows: usize, in_width: usize, out_width: usize, f: impl Fn(&[f32], usize) -> Vec<f32> + Sync) -> Vec<f32> {
    let joined =
        try_map_row_ranges::<Infallible>(rows, out_width, |start, count| Ok(f(&x[start * in_width..(start + count) * in_width], count)));
    match joined {
        Ok(out) => out,
        Err(never) => match never {},
    }
}

/// `f(first_row, count)` → `count × out_width` values, run over parts of `rows`, joined back in
/// row order; the first error wins.
pub fn try_map_row_ranges<E: Send>(
    rows: usize,
    out_width: usize,
    f: impl Fn(usize, usize) -> Result<Vec<f32>, E> + Sync,
) -> Result<Vec<f32>, E> {
    let parts = parts(rows, MIN_ROWS_PER_PART);
    if parts == 1 {
        return f(0, rows);
    }
    let per_part = rows.div_ceil(parts);
    let pieces: Vec<Result<Vec<f32>, E>> = (0..rows.div_ceil(per_part))
        .into_par_iter()
        .map(|part| {
            let start = part * per_part;
            f(start, per_part.min(rows - start))
        })
        .collect();
    let mut out = Vec::with_capacity(rows * out_width);
    for piece in pieces {
        out.extend_from_slice(&piece?);
    }
    Ok(out)
}

/// `f(i)` for each `i < count`, at once where threads allow; results in index order.
pub fn map_indices<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if threads() == 1 {
        return (0..count).map(f).collect();
    }
    (0..count).into_par_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_join_back_in_row_order() {
        let x: Vec<f32> = (0..300 * 3).map(|i| i as f32).collect();
        let twice = |xs: &[f32], count: usize| {
            assert_eq!(xs.len(), count * 3);
            xs.chunks_exact(3).flat_map(|r| [r[0] * 2.0, r[2]]).collect::<Vec<f32>>()
        };
        let whole = twice(&x, 300);
        assert_eq!(map_rows(&x, 300, 3, 2, twice), whole);
        assert_eq!(map_indices(50, |i| i * i), (0..50).map(|i| i * i).collect::<Vec<_>>());
        let ranges = try_map_row_ranges::<()>(300, 1, |start, count| Ok((start..start + count).map(|r| r as f32).collect()));
        assert_eq!(ranges, Ok((0..300).map(|r| r as f32).collect::<Vec<_>>()));
        assert_eq!(
            try_map_row_ranges(300, 1, |start, _| if start > 0 { Err(start) } else { Ok(vec![]) }).map(|v| v.len()).map_err(|e| e > 0),
            Err(true)
        );
    }
}
