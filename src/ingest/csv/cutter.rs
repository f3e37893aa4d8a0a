//! The stream cut into chunks at record boundaries, as [`super::split_records`] cuts the whole
//! data: the quote state carried from chunk to chunk, a record bounded at `Sizes::record`.

use std::io::Read;

use super::{fill, odd_quotes, runaway};

/// One chunk cut off a stream: `buf[start..end]`.
pub(super) struct Raw {
    pub(super) buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Raw {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

/// Cuts a stream into the chunks [`super::split_records`] cuts from the whole data: the quote state
/// is carried from chunk to chunk, and the bytes read past a chunk's end start the next one.
pub(super) struct Cutter {
    /// Holds the current chunk from `start` on.
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    /// Quote state at `start`.
    pub(super) in_quotes: bool,
    pub(super) eof: bool,
    pub(super) chunk: usize,
    pub(super) step: usize,
    /// The most bytes a chunk may run past `chunk` looking for the end of its last record.
    pub(super) record: usize,
    /// The file position of `buf[0]`.
    pub(super) offset: u64,
    /// Emptied buffers of stitched chunks.
    pub(super) pool: Vec<Vec<u8>>,
}

impl Cutter {
    /// Up to `n` chunks; fewer only at the end of the stream.
    pub(super) fn take(&mut self, src: &mut impl Read, n: usize) -> std::io::Result<Vec<Raw>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next(src)? {
                Some(raw) => out.push(raw),
                None => break,
            }
        }
        Ok(out)
    }

    fn next(&mut self, src: &mut impl Read) -> std::io::Result<Option<Raw>> {
        while !self.eof && self.buf.len() - self.start <= self.chunk {
            let want = self.start + self.chunk + self.step;
            self.eof = fill(src, &mut self.buf, want)?;
        }
        let have = self.buf.len() - self.start;
        if have == 0 {
            return Ok(None);
        }
        if have <= self.chunk {
            // The end of the stream is within reach: the rest is the last chunk.
            return Ok(Some(self.cut(self.buf.len())));
        }
        let want = self.start + self.chunk;
        self.in_quotes ^= odd_quotes(&self.buf[self.start..want]);
        let mut pos = want;
        loop {
            match memchr::memchr(b'\n', &self.buf[pos..]) {
                Some(i) => {
                    let nl = pos + i;
                    self.in_quotes ^= odd_quotes(&self.buf[pos..nl]);
                    pos = nl + 1;
                    if !self.in_quotes {
                        return Ok(Some(self.cut(pos)));
                    }
                }
                None => {
                    self.in_quotes ^= odd_quotes(&self.buf[pos..]);
                    pos = self.buf.len();
                    if self.eof {
                        return Ok(Some(self.cut(pos)));
                    }
                    if pos - self.start > self.chunk + self.record {
                        return Err(runaway(self.offset + self.start as u64, self.record));
                    }
                    let want = pos + self.step;
                    self.eof = fill(src, &mut self.buf, want)?;
                }
            }
        }
    }

    /// Hands out `buf[start..end]`; the bytes after it move to a fresh buffer.
    fn cut(&mut self, end: usize) -> Raw {
        let mut rest = self
            .pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.chunk + self.step));
        rest.extend_from_slice(&self.buf[end..]);
        self.offset += end as u64;
        let buf = std::mem::replace(&mut self.buf, rest);
        let raw = Raw {
            buf,
            start: self.start,
            end,
        };
        self.start = 0;
        raw
    }

    pub(super) fn recycle(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        self.pool.push(buf);
    }
}
