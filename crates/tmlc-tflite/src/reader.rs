//! A bounds-checked flatbuffer reader over `&[u8]`.
//!
//! The `flatbuffers` crate's accessors (`Table::get`, `Follow::follow`) are
//! `unsafe`: they trust that the buffer was verified. This workspace forbids
//! `unsafe` code, so the schema views in [`crate::schema`] read through this
//! module instead. Every read is checked and returns
//! [`TfliteError::Malformed`] instead of panicking. After
//! [`crate::schema::verify`] has accepted a buffer these checks never fail,
//! but they keep the reader safe on its own.
//!
//! Wire format facts used here (flatbuffers binary format):
//! - all scalars are little-endian;
//! - a table starts with an `i32` soffset: `vtable = table - soffset`;
//! - a vtable is `u16` vtable length, `u16` table length, then one `u16`
//!   field offset per slot (0 = absent); slot ids are `4 + 2 * field_id`;
//! - offsets to tables, vectors and strings are `u32` relative to where
//!   they are stored; a vector is a `u32` length followed by its elements;
//!   a string is a byte vector followed by a NUL.

use crate::TfliteError;

fn malformed(what: impl Into<String>) -> TfliteError {
    TfliteError::Malformed(what.into())
}

/// Reads `N` bytes at `pos`.
fn bytes<const N: usize>(buf: &[u8], pos: usize) -> Result<[u8; N], TfliteError> {
    let end = pos
        .checked_add(N)
        .ok_or_else(|| malformed("offset overflow"))?;
    let s = buf.get(pos..end).ok_or_else(|| {
        malformed(format!(
            "read of {N} bytes at offset {pos} is outside the file ({} bytes)",
            buf.len()
        ))
    })?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// A little-endian scalar that can be read from a buffer.
pub(crate) trait Scalar: Copy {
    /// Size in bytes.
    const SIZE: usize;
    /// Reads one value at `pos`.
    fn read(buf: &[u8], pos: usize) -> Result<Self, TfliteError>;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn read(buf: &[u8], pos: usize) -> Result<Self, TfliteError> {
                Ok(<$t>::from_le_bytes(bytes::<{ std::mem::size_of::<$t>() }>(buf, pos)?))
            }
        }
    )*};
}
scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32);

impl Scalar for bool {
    const SIZE: usize = 1;
    fn read(buf: &[u8], pos: usize) -> Result<Self, TfliteError> {
        Ok(u8::read(buf, pos)? != 0)
    }
}

/// Follows the `u32` offset stored at `pos`.
fn follow_uoffset(buf: &[u8], pos: usize) -> Result<usize, TfliteError> {
    let off = u32::read(buf, pos)? as usize;
    let target = pos
        .checked_add(off)
        .ok_or_else(|| malformed("offset overflow"))?;
    if target >= buf.len() {
        return Err(malformed(format!(
            "offset at {pos} points to {target}, outside the file ({} bytes)",
            buf.len()
        )));
    }
    Ok(target)
}

/// A table: its position and its vtable.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    /// The table at `pos`.
    pub(crate) fn at(buf: &'a [u8], pos: usize) -> Result<Table<'a>, TfliteError> {
        let soff = i32::read(buf, pos)? as i64;
        let vtable = (pos as i64)
            .checked_sub(soff)
            .filter(|&v| v >= 0 && (v as usize) < buf.len());
        let Some(vtable) = vtable else {
            return Err(malformed(format!(
                "table at {pos} has its vtable outside the file"
            )));
        };
        let vtable = vtable as usize;
        let vtable_len = u16::read(buf, vtable)? as usize;
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// The table the root offset (bytes 0..4) points to.
    pub(crate) fn root(buf: &'a [u8]) -> Result<Table<'a>, TfliteError> {
        Table::at(buf, follow_uoffset(buf, 0)?)
    }

    /// Position of the field in `slot`, if present.
    fn field(&self, slot: u16) -> Result<Option<usize>, TfliteError> {
        let slot = slot as usize;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = u16::read(self.buf, self.vtable + slot)? as usize;
        if off == 0 {
            return Ok(None);
        }
        Ok(Some(self.pos + off))
    }

    /// True when the field in `slot` is present.
    pub(crate) fn has(&self, slot: u16) -> Result<bool, TfliteError> {
        Ok(self.field(slot)?.is_some())
    }

    /// A scalar field, or `default` when absent.
    pub(crate) fn scalar<T: Scalar>(&self, slot: u16, default: T) -> Result<T, TfliteError> {
        match self.field(slot)? {
            Some(p) => T::read(self.buf, p),
            None => Ok(default),
        }
    }

    /// A sub-table field.
    pub(crate) fn table(&self, slot: u16) -> Result<Option<Table<'a>>, TfliteError> {
        match self.field(slot)? {
            Some(p) => Ok(Some(Table::at(self.buf, follow_uoffset(self.buf, p)?)?)),
            None => Ok(None),
        }
    }

    /// A vector-of-scalars field.
    pub(crate) fn vector<T: Scalar>(
        &self,
        slot: u16,
    ) -> Result<Option<Vector<'a, T>>, TfliteError> {
        match self.field(slot)? {
            Some(p) => Ok(Some(Vector::at(self.buf, follow_uoffset(self.buf, p)?)?)),
            None => Ok(None),
        }
    }

    /// A vector-of-tables field.
    pub(crate) fn tables(&self, slot: u16) -> Result<Option<Tables<'a>>, TfliteError> {
        match self.field(slot)? {
            Some(p) => {
                let v = Vector::<u32>::at(self.buf, follow_uoffset(self.buf, p)?)?;
                Ok(Some(Tables(v)))
            }
            None => Ok(None),
        }
    }

    /// A string field (lossy on invalid UTF-8, which the verifier rejects).
    pub(crate) fn string(&self, slot: u16) -> Result<Option<String>, TfliteError> {
        match self.vector::<u8>(slot)? {
            Some(v) => Ok(Some(String::from_utf8_lossy(v.bytes()?).into_owned())),
            None => Ok(None),
        }
    }
}

/// A vector of scalars.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vector<'a, T> {
    buf: &'a [u8],
    /// Position of the first element.
    start: usize,
    len: usize,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: Scalar> Vector<'a, T> {
    /// The vector whose length prefix is at `pos`; checks that every element
    /// lies inside the buffer.
    fn at(buf: &'a [u8], pos: usize) -> Result<Vector<'a, T>, TfliteError> {
        let len = u32::read(buf, pos)? as usize;
        let start = pos + 4;
        let end = len
            .checked_mul(T::SIZE)
            .and_then(|n| n.checked_add(start))
            .filter(|&e| e <= buf.len());
        if end.is_none() {
            return Err(malformed(format!(
                "vector at {pos} with {len} elements runs past the end of the file ({} bytes)",
                buf.len()
            )));
        }
        Ok(Vector {
            buf,
            start,
            len,
            _t: std::marker::PhantomData,
        })
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Element `i`.
    pub(crate) fn get(&self, i: usize) -> Result<T, TfliteError> {
        if i >= self.len {
            return Err(malformed(format!(
                "vector index {i} out of range ({})",
                self.len
            )));
        }
        T::read(self.buf, self.start + i * T::SIZE)
    }

    /// All elements. The length was checked against the buffer, so the
    /// allocation is bounded by the file size.
    pub(crate) fn to_vec(self) -> Result<Vec<T>, TfliteError> {
        (0..self.len).map(|i| self.get(i)).collect()
    }
}

impl<'a> Vector<'a, u8> {
    /// The elements as a byte slice.
    pub(crate) fn bytes(&self) -> Result<&'a [u8], TfliteError> {
        self.buf
            .get(self.start..self.start + self.len)
            .ok_or_else(|| malformed("byte vector outside the file"))
    }
}

/// A vector of tables.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tables<'a>(Vector<'a, u32>);

impl<'a> Tables<'a> {
    /// Number of tables.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Table `i`.
    pub(crate) fn get(&self, i: usize) -> Result<Table<'a>, TfliteError> {
        if i >= self.0.len {
            return Err(malformed(format!(
                "table index {i} out of range ({})",
                self.0.len
            )));
        }
        let p = self.0.start + i * 4;
        Table::at(self.0.buf, follow_uoffset(self.0.buf, p)?)
    }
}
