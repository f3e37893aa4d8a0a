//! A zero-copy record splitter for the chunks of a CSV or tab-separated file: it cuts exactly
//! where the `csv` crate does, leaving the fields in place in the decoded chunk.

/// The end of an unquoted stretch of a field starting at `from`: the next separator, CR or LF.
fn field_end<const SEP: u8>(d: &[u8], from: usize) -> usize {
    d[from..]
        .iter()
        .position(|&b| b == SEP || matches!(b, b'\r' | b'\n'))
        .map_or(d.len(), |i| from + i)
}

/// A field's content: a range of the input (unquoted fields, and quoted ones without `""` or
/// text after the closing quote), or a range of the unescape buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    Chunk(usize, usize),
    Unescaped(usize, usize),
}

/// A record found by [`Splitter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    /// The 1-based physical line the record starts on.
    pub(crate) line: u64,
    /// LF bytes quoted inside the record's fields.
    pub(crate) breaks: u64,
}

/// A zero-copy CSV record splitter over raw bytes, splitting exactly as the `csv` crate does with
/// `has_headers(false)`, `flexible(true)` and its defaults, with `SEP` as its delimiter: `SEP`
/// (`,` or a tab) between fields; `"` opens a quoted
/// field only as its first byte; inside, `""` is a quote and line breaks are text; after the
/// closing quote, text up to the next `,` or line break joins the field; CR, LF and CRLF end a
/// record; blank lines are skipped. Only ASCII bytes are structural, so it works on CP932 (whose
/// trail bytes are 0x40..=0xFC) as well as UTF-8.
pub(crate) struct Splitter<'a, const SEP: u8> {
    data: &'a [u8],
    pos: usize,
    /// LF bytes before `pos`.
    lf: u64,
}

impl<'a, const SEP: u8> Splitter<'a, SEP> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Splitter {
            data,
            pos: 0,
            lf: 0,
        }
    }

    /// LF bytes in the whole input once the last record has been read.
    pub(crate) fn lines(&self) -> u64 {
        self.lf + memchr::memchr_iter(b'\n', &self.data[self.pos..]).count() as u64
    }

    /// The next record's fields into `spans` (and `unescaped`, both cleared first).
    pub(crate) fn next_record(
        &mut self,
        spans: &mut Vec<Content>,
        unescaped: &mut Vec<u8>,
    ) -> Option<RecordAt> {
        spans.clear();
        unescaped.clear();
        let d = self.data;
        let mut pos = self.pos;
        while let Some(&b) = d.get(pos) {
            match b {
                b'\n' => self.lf += 1,
                b'\r' => {}
                _ => break,
            }
            pos += 1;
        }
        if pos >= d.len() {
            self.pos = pos;
            return None;
        }
        let line = self.lf + 1;
        let mut breaks = 0u64;
        loop {
            let content = if d.get(pos) == Some(&b'"') {
                pos += 1;
                let mut piece = pos;
                let mut escaped = false;
                let from = unescaped.len();
                // Quoted LFs are counted on the way.
                let close = loop {
                    match memchr::memchr2(b'"', b'\n', &d[pos..]) {
                        None => break None,
                        Some(i) if d[pos + i] == b'\n' => {
                            breaks += 1;
                            pos += i + 1;
                        }
                        Some(i) => {
                            let q = pos + i;
                            if d.get(q + 1) == Some(&b'"') {
                                unescaped.extend_from_slice(&d[piece..=q]);
                                pos = q + 2;
                                piece = pos;
                                escaped = true;
                            } else {
                                break Some(q);
                            }
                        }
                    }
                };
                match close {
                    None => {
                        pos = d.len();
                        if escaped {
                            unescaped.extend_from_slice(&d[piece..]);
                            Content::Unescaped(from, unescaped.len())
                        } else {
                            Content::Chunk(piece, pos)
                        }
                    }
                    Some(q) => {
                        let after = q + 1;
                        pos = field_end::<SEP>(d, after);
                        if !escaped && pos == after {
                            Content::Chunk(piece, q)
                        } else {
                            unescaped.extend_from_slice(&d[piece..q]);
                            unescaped.extend_from_slice(&d[after..pos]);
                            Content::Unescaped(from, unescaped.len())
                        }
                    }
                }
            } else {
                let end = field_end::<SEP>(d, pos);
                let content = Content::Chunk(pos, end);
                pos = end;
                content
            };
            spans.push(content);
            if d.get(pos) == Some(&SEP) {
                pos += 1;
            } else {
                break;
            }
        }
        self.lf += breaks;
        self.pos = pos;
        Some(RecordAt { line, breaks })
    }
}
