//! Row-wise work split over rayon's threads. Where rayon has threads (natively, and the wasm
//! build with shared memory and a started pool) the parts run at once; in the other wasm builds
//! rayon runs them in order on the calling thread. Each row is computed by the same code either
//! way, so results do not depend on the thread count.

use rayon::prelude::*;

/// Rows below this per part cost more to hand out than they save.
const MIN_ROWS_PER_PART: usize = 8;

/// Threads that can work at once (1 where rayon has none).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// How many parts to cut work into: one per thread, none smaller than `min` items.
fn parts(items: usize, min: usize) -> usize {
    threads().min(items / min.max(1)).max(1)
}

/// `f(x_rows, count)` → `count × out_width` values, run over parts of `x` (`rows × in_width`),
/// joined back in row order.
pub fn map_rows(x: &[f32], rows: usize, in_width: usize, out_width: usize, f: impl Fn(&[f32], usize) -> Vec<f32> + Sync) -> Vec<f32> {
    let parts = parts(rows, MIN_ROWS_PER_PART);
    if parts == 1 {
        return f(x, rows);
    }
    let per_part = rows.div_ceil(parts);
    let pieces: Vec<Vec<f32>> = (0..rows.div_ceil(per_part))
        .into_par_iter()
        .map(|part| {
            let start = part * per_part;
            let count = per_part.min(rows - start);
            f(&x[start * in_width..(start + count) * in_width], count)
        })
        .collect();
    let mut out = Vec::with_capacity(rows * out_width);
    for piece in pieces {
        out.extend_from_slice(&piece);
    }
    out
}

/// `f` over `values` in place, cut into parts whose lengths are multiples of `unit`.
pub fn for_each_part(values: &mut [f32], unit: usize, f: impl Fn(&mut [f32]) + Sync) {
    let units = values.len() / unit.max(1);
    let parts = parts(units, MIN_ROWS_PER_PART);
    if parts == 1 {
        return f(values);
    }
    let per_part = units.div_ceil(parts) * unit;
    values.par_chunks_mut(per_part).for_each(&f);
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
        let mut values = x.clone();
        for_each_part(&mut values, 3, |part| part.iter_mut().for_each(|v| *v += 1.0));
        assert!(values.iter().zip(&x).all(|(a, b)| *a == b + 1.0));
        assert_eq!(map_indices(50, |i| i * i), (0..50).map(|i| i * i).collect::<Vec<_>>());
    }
}
