//! The pickled state dict inside `pytorch_model.bin` (`data.pkl` of torch.save's zip), read into
//! a list of tensor records. Our own reader, not candle's: candle clones memoized objects deeply
//! (a file can double memory every few bytes), indexes argument tuples without checking their
//! length, and recurses into nesting of any depth, so a hostile file traps the wasm instance.
//! Here every step is charged to a budget proportional to the file's size, nesting is capped,
//! and every malformed shape is an error.

/// Work allowed per byte of pickle (each opcode costs one unit, copying an object its size).
const WORK_PER_BYTE: usize = 16;
/// Nesting no state dict comes near (a tensor entry is about 5 deep).
const MAX_DEPTH: u16 = 32;

/// One tensor of the state dict: where its bytes are (`storage`, the zip entry's key) and how
/// they are laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRecord {
    pub name: String,
    pub storage: String,
    pub dtype: StorageType,
    /// In elements of `dtype`, from the start of the storage.
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    F32,
    F64,
    F16,
    BF16,
    /// Integer and byte storages: buffers such as `position_ids`, never weights.
    Other(usize),
}

impl StorageType {
    pub fn size(self) -> usize {
        match self {
            StorageType::F32 => 4,
            StorageType::F64 => 8,
            StorageType::F16 | StorageType::BF16 => 2,
            StorageType::Other(size) => size,
        }
    }
}

#[derive(Clone, Debug)]
enum Obj {
    Mark,
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<Val>),
    List(Vec<Val>),
    Dict(Vec<(Val, Val)>),
    Global(String, String),
    Reduce(Box<Val>, Box<Val>),
    PersId(Box<Val>),
    /// BUILD on anything but a dict: never part of a tensor entry, so only its size is kept.
    Built,
}

/// An object with its nesting depth and node count, kept so that limits are checked in O(1).
#[derive(Clone, Debug)]
struct Val {
    obj: Obj,
    depth: u16,
    nodes: usize,
}

impl Val {
    fn leaf(obj: Obj) -> Val {
        Val { obj, depth: 1, nodes: 1 }
    }
}

fn container<'a>(obj: Obj, children: impl Iterator<Item = &'a Val>) -> Result<Val, String> {
    let (mut depth, mut nodes) = (0u16, 1usize);
    for child in children {
        depth = depth.max(child.depth);
        nodes = nodes.saturating_add(child.nodes);
    }
    if depth >= MAX_DEPTH {
        return Err(format!("nests objects more than {MAX_DEPTH} deep; a state dict never does"));
    }
    Ok(Val { obj, depth: depth + 1, nodes })
}

fn tuple(items: Vec<Val>) -> Result<Val, String> {
    let shell = container(Obj::Mark, items.iter())?;
    Ok(Val { obj: Obj::Tuple(items), ..shell })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Val>,
    memo: std::collections::HashMap<u32, Val>,
    work: usize,
    budget: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() - self.at {
            return Err(format!("ends inside an opcode's argument at byte {} (wants {n} more bytes)", self.at));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.at..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("a GLOBAL name has no end of line")?;
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(text)
    }

    fn string(&mut self, len: usize) -> Result<Val, String> {
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| "holds a string that is not UTF-8".to_string())?;
        Ok(Val::leaf(Obj::Str(text.to_string())))
    }

    fn charge(&mut self, units: usize) -> Result<(), String> {
        self.work = self.work.saturating_add(units);
        if self.work > self.budget {
            return Err(format!("asks for more work than a {}-byte pickle can justify (objects copied over and over)", self.bytes.len()));
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Val, String> {
        match self.stack.pop() {
            Some(Val { obj: Obj::Mark, .. }) | None => Err("pops past a mark or an empty stack".into()),
            Some(value) => Ok(value),
        }
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Val>, String> {
        let mark = self.stack.iter().rposition(|v| matches!(v.obj, Obj::Mark)).ok_or("has no MARK where one is needed")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> Result<&mut Val, String> {
        self.stack.last_mut().ok_or_else(|| "reads an empty stack".to_string())
    }

    fn memo_put(&mut self, id: u32) -> Result<(), String> {
        let top = self.stack.last().ok_or("memoizes from an empty stack")?.clone();
        self.charge(top.nodes)?;
        self.memo.insert(id, top);
        Ok(())
    }

    fn memo_get(&mut self, id: u32) -> Result<(), String> {
        let value = self.memo.get(&id).ok_or_else(|| format!("reads memo entry {id}, which was never stored"))?.clone();
        self.charge(value.nodes)?;
        self.stack.push(value);
        Ok(())
    }

    /// Runs one opcode; true at STOP.
    fn step(&mut self) -> Result<bool, String> {
        self.charge(1)?;
        let op = self.u8()?;
        match op {
            0x80 => drop(self.u8()?),    // PROTO
            0x95 => drop(self.take(8)?), // FRAME
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.stack.push(Val::leaf(Obj::Global(module, name)));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Obj::Str(module), Obj::Str(name)) = (module.obj, name.obj) else {
                    return Err("STACK_GLOBAL needs two strings".into());
                };
                self.stack.push(Val::leaf(Obj::Global(module, name)));
            }
            b'q' | b'r' | 0x94 => {
                let id = match op {
                    b'q' => self.u8()?.into(),
                    b'r' => self.u32()?,
                    _ => u32::try_from(self.memo.len()).map_err(|_| "has too many memo entries")?,
                };
                self.memo_put(id)?;
            }
            b'h' | b'j' => {
                let id = if op == b'h' { self.u8()?.into() } else { self.u32()? };
                self.memo_get(id)?;
            }
            b'X' | 0x8c | 0x8d => {
                let len = match op {
                    b'X' => self.u32()? as usize,
                    0x8c => self.u8()? as usize,
                    _ => usize::try_from(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default()))
                        .map_err(|_| "holds a string longer than memory")?,
                };
                let value = self.string(len)?;
                self.stack.push(value);
            }
            b'J' => {
                let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default());
                self.stack.push(Val::leaf(Obj::Int(v.into())));
            }
            b'K' => {
                let v = self.u8()?;
                self.stack.push(Val::leaf(Obj::Int(v.into())));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.take(2)?.try_into().unwrap_or_default());
                self.stack.push(Val::leaf(Obj::Int(v.into())));
            }
            0x8a => {
                let n = self.u8()? as usize;
                if n > 8 {
                    return Err(format!("holds a {n}-byte integer; tensor sizes and offsets fit 8 bytes"));
                }
                let bytes = self.take(n)?;
                let mut v: i64 = 0;
                for (i, &b) in bytes.iter().enumerate() {
                    v |= i64::from(b) << (8 * i);
                }
                if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n); // two's complement of n bytes
                }
                self.stack.push(Val::leaf(Obj::Int(v)));
            }
            b'G' => {
                self.take(8)?;
                self.stack.push(Val::leaf(Obj::Float));
            }
            b'N' => self.stack.push(Val::leaf(Obj::None)),
            0x88 => self.stack.push(Val::leaf(Obj::Bool)),
            0x89 => self.stack.push(Val::leaf(Obj::Bool)),
            b'(' => self.stack.push(Val::leaf(Obj::Mark)),
            b')' => self.stack.push(tuple(Vec::new())?),
            b']' => self.stack.push(Val::leaf(Obj::List(Vec::new()))),
            b'}' => self.stack.push(Val::leaf(Obj::Dict(Vec::new()))),
            b't' => {
                let items = self.pop_to_mark()?;
                self.stack.push(tuple(items)?);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                self.stack.push(tuple(items)?);
            }
            b'a' | b'e' => {
                let items = if op == b'a' { vec![self.pop()?] } else { self.pop_to_mark()? };
                let list = self.top()?;
                let Obj::List(values) = &mut list.obj else { return Err("APPEND to something that is not a list".into()) };
                values.extend(items);
                let grown = container(Obj::Mark, values.iter())?;
                (list.depth, list.nodes) = (grown.depth, grown.nodes);
            }
            b's' | b'u' | b'd' => {
                let mut items = if op == b's' {
                    let value = self.pop()?;
                    vec![self.pop()?, value]
                } else {
                    self.pop_to_mark()?
                };
                if items.len() % 2 != 0 {
                    return Err("SETITEMS with an odd number of objects".into());
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                while let (Some(value), Some(key)) = (items.pop(), items.pop()) {
                    pairs.push((key, value));
                }
                pairs.reverse();
                if op == b'd' {
                    self.stack.push(Val::leaf(Obj::Dict(Vec::new())));
                }
                let dict = self.top()?;
                let Obj::Dict(entries) = &mut dict.obj else { return Err("SETITEM on something that is not a dict".into()) };
                entries.extend(pairs);
                let grown = container(Obj::Mark, entries.iter().flat_map(|(k, v)| [k, v]))?;
                (dict.depth, dict.nodes) = (grown.depth, grown.nodes);
            }
            b'Q' => {
                let id = self.pop()?;
                let value = container(Obj::Mark, [&id].into_iter())?;
                self.stack.push(Val { obj: Obj::PersId(Box::new(id)), ..value });
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let reduced = match &callable.obj {
                    // An empty OrderedDict(); its items arrive by SETITEMS.
                    Obj::Global(module, name) if module == "collections" && (name == "OrderedDict" || name == "defaultdict") => {
                        Val::leaf(Obj::Dict(Vec::new()))
                    }
                    _ => {
                        let shell = container(Obj::Mark, [&callable, &args].into_iter())?;
                        Val { obj: Obj::Reduce(Box::new(callable), Box::new(args)), ..shell }
                    }
                };
                self.stack.push(reduced);
            }
            b'b' => {
                let state = self.pop()?;
                let target = self.pop()?;
                let built = match (target.obj, state.obj) {
                    // OrderedDict's state is its attributes (`_metadata`): kept as entries, then skipped.
                    (Obj::Dict(mut entries), Obj::Dict(more)) => {
                        entries.extend(more);
                        let shell = container(Obj::Mark, entries.iter().flat_map(|(k, v)| [k, v]))?;
                        Val { obj: Obj::Dict(entries), ..shell }
                    }
                    (target_obj, state_obj) => {
                        let target = Val { obj: target_obj, ..target };
                        let state = Val { obj: state_obj, ..state };
                        let shell = container(Obj::Mark, [&target, &state].into_iter())?;
                        Val { obj: Obj::Built, ..shell }
                    }
                };
                self.stack.push(built);
            }
            b'.' => return Ok(true),
            other => return Err(format!("uses pickle opcode 0x{other:02x}, which a torch.save state dict does not")),
        }
        Ok(false)
    }
}

/// Reads `data.pkl` into the tensors of its state dict (entries that are not tensors are skipped).
pub fn read_state_dict(pickle: &[u8]) -> Result<Vec<TensorRecord>, String> {
    let mut reader = Reader {
        bytes: pickle,
        at: 0,
        stack: Vec::new(),
        memo: std::collections::HashMap::new(),
        work: 0,
        budget: pickle.len().saturating_mul(WORK_PER_BYTE).saturating_add(4096),
    };
    loop {
        if reader.at >= pickle.len() {
            return Err("ends without a STOP opcode".into());
        }
        if reader.step()? {
            break;
        }
    }
    let top = reader.stack.pop().ok_or("leaves nothing on the stack")?;
    let Obj::Dict(entries) = top.obj else { return Err("is not a state dict (its top object is not a dict)".into()) };
    let mut records = Vec::new();
    for (key, value) in entries {
        let Obj::Str(name) = key.obj else { continue };
        if let Some(record) = tensor_record(&name, value)? {
            records.push(record);
        }
    }
    Ok(records)
}

fn items(value: &Val, what: &str, len: usize, name: &str) -> Result<Vec<Val>, String> {
    match &value.obj {
        Obj::Tuple(items) if items.len() >= len => Ok(items.clone()),
        _ => Err(format!("tensor `{name}`: {what} is not a tuple of at least {len} items")),
    }
}

fn int(value: &Val, what: &str, name: &str) -> Result<usize, String> {
    match value.obj {
        Obj::Int(v) if v >= 0 => usize::try_from(v).map_err(|_| format!("tensor `{name}`: {what} {v} does not fit this platform")),
        _ => Err(format!("tensor `{name}`: {what} is not a non-negative integer")),
    }
}

fn ints(value: &Val, what: &str, name: &str) -> Result<Vec<usize>, String> {
    items(value, what, 0, name)?.iter().map(|v| int(v, what, name)).collect()
}

/// A state dict value → its tensor record; `None` for values that are not tensors.
fn tensor_record(name: &str, value: Val) -> Result<Option<TensorRecord>, String> {
    let Obj::Reduce(callable, args) = value.obj else { return Ok(None) };
    let Obj::Global(module, function) = &callable.obj else { return Ok(None) };
    let args = match (module.as_str(), function.as_str()) {
        ("torch._utils", "_rebuild_tensor_v2") => *args,
        // nn.Parameter(tensor, requires_grad, hooks): the tensor is its first argument.
        ("torch._utils", "_rebuild_parameter") => return tensor_record(name, items(&args, "a parameter's arguments", 1, name)?.remove(0)),
        // _rebuild_from_type_v2(function, type, args, state): `function(*args)` is the tensor.
        ("torch._tensor", "_rebuild_from_type_v2") => {
            let mut parts = items(&args, "a typed tensor's arguments", 3, name)?;
            let inner_args = parts.remove(2);
            let function = parts.remove(0);
            let inner = container(Obj::Mark, [&function, &inner_args].into_iter())?;
            return tensor_record(name, Val { obj: Obj::Reduce(Box::new(function), Box::new(inner_args)), ..inner });
        }
        _ => return Ok(None),
    };
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, ...)
    let parts = items(&args, "_rebuild_tensor_v2's arguments", 4, name)?;
    let Obj::PersId(storage) = &parts[0].obj else { return Err(format!("tensor `{name}`: its storage is not a persistent id")) };
    // ('storage', torch.FloatStorage, key, location, numel)
    let storage = items(storage, "its storage id", 3, name)?;
    let Obj::Global(_, class) = &storage[1].obj else { return Err(format!("tensor `{name}`: its storage type is not a class")) };
    let Obj::Str(key) = &storage[2].obj else { return Err(format!("tensor `{name}`: its storage key is not a string")) };
    let dtype = match class.as_str() {
        "FloatStorage" => StorageType::F32,
        "DoubleStorage" => StorageType::F64,
        "HalfStorage" => StorageType::F16,
        "BFloat16Storage" => StorageType::BF16,
        "LongStorage" => StorageType::Other(8),
        "IntStorage" => StorageType::Other(4),
        "ShortStorage" => StorageType::Other(2),
        "ByteStorage" | "CharStorage" | "BoolStorage" => StorageType::Other(1),
        other => return Err(format!("tensor `{name}`: storage type {other} is not read")),
    };
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("tensor `{name}`: storage key {key:?} is not a plain name"));
    }
    Ok(Some(TensorRecord {
        name: name.to_string(),
        storage: key.clone(),
        dtype,
        offset: int(&parts[1], "its storage offset", name)?,
        shape: ints(&parts[2], "its size", name)?,
        stride: ints(&parts[3], "its stride", name)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal torch.save-style pickle of one tensor `w` (FloatStorage "0", shape [2, 3]).
    fn one_tensor() -> Vec<u8> {
        let mut p = vec![0x80, 2];
        p.extend(b"ccollections\nOrderedDict\n)R(");
        p.extend([b'X', 1, 0, 0, 0, b'w']);
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.extend(b"(");
        p.extend([b'X', 7, 0, 0, 0]);
        p.extend(b"storage");
        p.extend(b"ctorch\nFloatStorage\n");
        p.extend([b'X', 1, 0, 0, 0, b'0']);
        p.extend([b'X', 3, 0, 0, 0]);
        p.extend(b"cpu");
        p.extend([b'K', 6]);
        p.extend(b"tQ");
        p.extend([b'K', 0, b'K', 2, b'K', 3, 0x86, b'K', 3, b'K', 1, 0x86, 0x89]);
        p.extend(b"ccollections\nOrderedDict\n)R");
        p.extend(b"tRu.");
        p
    }

    #[test]
    fn reads_a_state_dict_entry() {
        let records = read_state_dict(&one_tensor()).unwrap();
        assert_eq!(
            records,
            [TensorRecord {
                name: "w".into(),
                storage: "0".into(),
                dtype: StorageType::F32,
                offset: 0,
                shape: vec![2, 3],
                stride: vec![3, 1]
            }]
        );
    }

    #[test]
    fn hostile_pickles_are_errors() {
        // The memo-clone bomb: a list stored, then fetched twice and nested, 40 times over.
        let mut bomb = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..40 {
            bomb.extend([b'(', b'h', 0, b'h', 0, b't', b'q', 0]);
        }
        bomb.push(b'.');
        let err = read_state_dict(&bomb).unwrap_err();
        assert!(err.contains("more work") || err.contains("deep"), "{err}");

        // 10^6 nested lists.
        let mut deep = vec![0x80, 2];
        deep.extend(std::iter::repeat_n(b']', 1_000_000));
        deep.extend(std::iter::repeat_n(b'a', 999_999));
        deep.push(b'.');
        assert!(read_state_dict(&deep).unwrap_err().contains("deep"));

        // A BINUNICODE length of 2^32 - 1.
        let err = read_state_dict(&[0x80, 2, b'X', 0xff, 0xff, 0xff, 0xff, b'a', b'.']).unwrap_err();
        assert!(err.contains("ends inside"), "{err}");

        // _rebuild_tensor_v2 with a 1-tuple.
        let mut short = vec![0x80, 2];
        short.extend(b"ccollections\nOrderedDict\n)R(");
        short.extend([b'X', 1, 0, 0, 0, b'w']);
        short.extend(b"ctorch._utils\n_rebuild_tensor_v2\n");
        short.extend([b'K', 1, 0x85, b'R', b'u', b'.']);
        assert!(read_state_dict(&short).unwrap_err().contains("at least 4"));

        for junk in [&b""[..], b".", b"\x80\x02", b"\xff", b"(t.", b"h\x05."] {
            assert!(read_state_dict(junk).is_err(), "{junk:?}");
        }
    }
}
