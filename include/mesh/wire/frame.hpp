#pragma once
/// The frame layout of docs/wire.md: one msgpack header part plus body parts, per ZeroMQ
/// multipart message. Encoding and decoding of every frame kind lives here and only here.

#include <mesh/core/error.hpp>
#include <mesh/version.hpp>
#include <mesh/wire/codec.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mesh::wire {

/// What a frame carries. Numbers are on the wire: never renumber.
enum class kind : std::uint8_t {
  call = 0,     ///< request expecting a reply or error with the same request id
  cast = 1,     ///< request without reply
  reply = 2,    ///< successful result of a call
  error = 3,    ///< failed call (errc + text), or a refused control message
  control = 4,  ///< cluster protocol: heartbeat (with gossip), refuse, leave (cluster/gossip.hpp)
  batch = 5,    ///< several frames of the kinds above sent as one message (see batch_writer)
};

/// Header of a frame; which members are meaningful depends on `k` (see docs/wire.md).
struct header {
  kind k = kind::call;
  std::uint64_t request_id = 0;
  // call / cast
  std::uint64_t fingerprint = 0;    ///< schema fingerprint of the sender
  std::string actor;                ///< actor type name
  std::string id;                   ///< actor id
  std::uint32_t message_index = 0;  ///< position of the message in the actor's `messages` list
  std::uint32_t timeout_ms = 0;     ///< call: remaining time budget; 0 = none (casts)
  bool has_init = false;            ///< a third part carries the init argument
  std::uint64_t chain = 0;          ///< call: the call chain it belongs to (0: none; docs/fencing.md)
  std::string traceparent;          ///< W3C trace context of the caller; empty = none (not sent)
  // reply
  std::string node;                 ///< name of the node where the activation ran
  // error
  errc code = errc::ok;
  std::string text;
  // control
  std::uint16_t control = 0;        ///< control message type (cluster layer)
  // batch
  std::uint32_t frames = 0;         ///< number of frames in the batch's body

  friend bool operator==(header const&, header const&) = default;
};

/// The body parts of a frame: at most two (a payload and an init argument; one control body),
/// kept inside the frame so that building or receiving one allocates nothing but its bytes.
/// A vector-like subset: push_back/emplace_back beyond two parts throw std::length_error.
class body_parts {
 public:
  static constexpr std::size_t capacity = 2;

  body_parts() = default;
  body_parts(body_parts const&) = default;
  body_parts& operator=(body_parts const&) = default;
  /// A moved-from body is empty, as a moved-from vector is.
  body_parts(body_parts&& o) noexcept : n_(o.n_) {
    for (std::size_t i = 0; i < n_; ++i) p_[i] = std::move(o.p_[i]);
    o.clear();
  }
  body_parts& operator=(body_parts&& o) noexcept {
    if (this != &o) {
      for (std::size_t i = 0; i < o.n_; ++i) p_[i] = std::move(o.p_[i]);
      for (std::size_t i = o.n_; i < n_; ++i) p_[i].clear();
      n_ = o.n_;
      o.clear();
    }
    return *this;
  }

  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  std::string& operator[](std::size_t i) noexcept { return p_[i]; }
  std::string const& operator[](std::size_t i) const noexcept { return p_[i]; }
  std::string* begin() noexcept { return p_; }
  std::string* end() noexcept { return p_ + n_; }
  std::string const* begin() const noexcept { return p_; }
  std::string const* end() const noexcept { return p_ + n_; }

  /// Parts past size() are kept empty (with their capacity), so a new part starts empty.
  template <class... A>
  std::string& emplace_back(A&&... a) {
    check_room();
    if constexpr (sizeof...(A) > 0) p_[n_] = std::string(std::forward<A>(a)...);
    return p_[n_++];
  }
  void push_back(std::string const& s) { emplace_back().assign(s); }
  void push_back(std::string&& s) { emplace_back() = std::move(s); }
  void resize(std::size_t n) {
    if (n > capacity) too_many();
    for (std::size_t i = n; i < n_; ++i) p_[i].clear();
    n_ = n;
  }
  void clear() noexcept {
    for (std::size_t i = 0; i < n_; ++i) p_[i].clear();
    n_ = 0;
  }
  friend bool operator==(body_parts const& a, body_parts const& b) noexcept {
    if (a.n_ != b.n_) return false;
    for (std::size_t i = 0; i < a.n_; ++i)
      if (a.p_[i] != b.p_[i]) return false;
    return true;
  }

 private:
  void check_room() const {
    if (n_ == capacity) too_many();
  }
  [[noreturn]] static void too_many() { throw std::length_error("mesh::wire::body_parts holds at most 2 parts"); }
  std::string p_[capacity];
  std::size_t n_ = 0;
};

/// A decoded frame: header plus body parts (payload, init argument, control body).
struct frame {
  header h;
  body_parts body;
  friend bool operator==(frame const&, frame const&) = default;
};

/// Most frames a batch may hold (docs/wire.md, "Batches"): one received message never makes a
/// node handle more than this many frames before it gets back to its other duties.
inline constexpr std::uint32_t max_batch_frames = 1024;

/// Largest header part decode_header accepts (docs/wire.md).
inline constexpr std::size_t max_header_bytes = 64 * 1024;
/// Longest error text encode_header sends; longer texts (say, a huge exception what()) are cut
/// so that the error frame stays decodable and the caller gets the error, not a timeout.
inline constexpr std::size_t max_error_text_bytes = 16 * 1024;

namespace detail {
/// `text` cut to at most max_error_text_bytes, on a UTF-8 character boundary.
inline std::string_view clip_error_text(std::string_view text) {
  if (text.size() <= max_error_text_bytes) return text;
  std::size_t n = max_error_text_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
  return text.substr(0, n);
}

inline std::size_t body_parts_for(header const& h) {
  switch (h.k) {
    case kind::call:
    case kind::cast: return h.has_init ? 2 : 1;
    case kind::reply: return 1;
    case kind::error: return 0;
    case kind::control: return 1;
    case kind::batch: return 1;
  }
  return 0;
}

template <class T>
bool read(msgpack::object const& o, T& out) {
  try {
    o.convert(out);
    return true;
  } catch (...) {
    return false;
  }
}
}  // namespace detail

namespace detail {
/// Writes msgpack in the smallest encoding of each value, byte for byte what msgpack-c's packer
/// writes for the same calls (tests/wire check the bytes), straight into a byte buffer: headers
/// are written on every request and reply, and the packer's per-field append calls cost more
/// than the rest of the header.
struct header_writer {
  char* p;
  void byte(unsigned x) { *p++ = static_cast<char>(x); }
  /// A msgpack fixarray of `n` (< 16) elements.
  void fixarray(unsigned n) { byte(0x90u | n); }
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) *p++ = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void uint(std::uint64_t v) {
    if (v < 128) byte(static_cast<unsigned>(v));
    else if (v <= 0xff) { byte(0xcc); be(v, 1); }
    else if (v <= 0xffff) { byte(0xcd); be(v, 2); }
    else if (v <= 0xffffffffu) { byte(0xce); be(v, 4); }
    else { byte(0xcf); be(v, 8); }
  }
  void str(std::string_view s) {
    auto const n = s.size();
    if (n < 32) byte(0xa0u | static_cast<unsigned>(n));
    else if (n < 256) { byte(0xd9); be(n, 1); }
    else if (n < 65536) { byte(0xda); be(n, 2); }
    else { byte(0xdb); be(n, 4); }
    std::memcpy(p, s.data(), n);
    p += n;
  }
  /// Bytes a str(s) takes at most.
  static std::size_t str_bound(std::string_view s) { return 5 + s.size(); }
};
}  // namespace detail

namespace detail {
/// Fields of a call or cast header: version, kind, request id, fingerprint, actor, id, message
/// index, timeout, has_init (docs/wire.md, "Header"); then, only when set, a 10th field, the call
/// chain (0 when only the traceparent is set), and an 11th, the traceparent: a request with
/// neither costs what it did before.
inline constexpr unsigned call_header_fields = 9;
inline constexpr unsigned call_header_fields_max = 11;
}  // namespace detail

/// Longest traceparent a request header may carry (W3C version 00 takes 55 bytes; later versions
/// may append fields). Longer: errc::bad_message.
inline constexpr std::size_t max_traceparent_bytes = 256;

namespace detail {

/// Appends the header part of a frame to `out`.
inline void append_header(std::string& out, header const& h) {
  constexpr std::size_t fixed = 1 + 2 + 2 + 9 + 9 + 5 + 5 + 3 + 1 + 9;  // array, version, kind, numbers, bool, chain
  std::string_view const text = h.k == kind::error ? detail::clip_error_text(h.text) : std::string_view();
  std::size_t bound = fixed;
  switch (h.k) {
    case kind::call:
    case kind::cast:
      bound += detail::header_writer::str_bound(h.actor) + detail::header_writer::str_bound(h.id) +
               detail::header_writer::str_bound(h.traceparent);
      break;
    case kind::reply: bound += detail::header_writer::str_bound(h.node); break;
    case kind::error: bound += detail::header_writer::str_bound(text); break;
    case kind::control:
    case kind::batch: break;
  }
  std::size_t const at = out.size();
  out.resize(at + bound);  // overwritten below, then cut to what was written
  detail::header_writer w{out.data() + at};
  auto const v = static_cast<std::uint8_t>(protocol_version);
  auto const k = static_cast<std::uint8_t>(h.k);
  switch (h.k) {
    case kind::call:
    case kind::cast:
      w.fixarray(call_header_fields + (!h.traceparent.empty() ? 2 : h.chain ? 1 : 0));
      w.uint(v); w.uint(k); w.uint(h.request_id); w.uint(h.fingerprint);
      w.str(h.actor); w.str(h.id); w.uint(h.message_index); w.uint(h.timeout_ms); w.byte(h.has_init ? 0xc3 : 0xc2);
      if (h.chain || !h.traceparent.empty()) w.uint(h.chain);
      if (!h.traceparent.empty()) w.str(h.traceparent);
      break;
    case kind::reply:
      w.fixarray(4);  // version, kind, request id, node
      w.uint(v); w.uint(k); w.uint(h.request_id); w.str(h.node);
      break;
    case kind::error:
      w.fixarray(5);  // version, kind, request id, code, text
      w.uint(v); w.uint(k); w.uint(h.request_id); w.uint(static_cast<std::uint16_t>(h.code)); w.str(text);
      break;
    case kind::control:
      w.fixarray(4);  // version, kind, request id, control type
      w.uint(v); w.uint(k); w.uint(h.request_id); w.uint(h.control);
      break;
    case kind::batch:
      w.fixarray(4);  // version, kind, request id, frame count
      w.uint(v); w.uint(k); w.uint(h.request_id); w.uint(h.frames);
      break;
  }
  out.resize(static_cast<std::size_t>(w.p - out.data()));
}
}  // namespace detail

/// Encodes the header part of a frame into `out` (replacing its contents; its capacity is reused).
inline void encode_header_to(std::string& out, header const& h) {
  out.clear();
  detail::append_header(out, h);
}

/// Encodes the header part of a frame.
inline std::string encode_header(header const& h) {
  std::string out;
  encode_header_to(out, h);
  return out;
}

/// Encodes a whole frame as its multipart parts: header first, then the body parts.
inline std::vector<std::string> encode_frame(frame const& f) {
  std::vector<std::string> parts;
  parts.reserve(1 + f.body.size());
  parts.push_back(encode_header(f.h));
  for (auto const& b : f.body) parts.push_back(b);
  return parts;
}

namespace detail {
/// Reads the headers of the hot kinds (call, cast, reply) in the exact form encode_header
/// writes them, without msgpack-c. Returns false on anything else (another kind, version or
/// encoding, a value out of range...), and decode_header then takes the general path, which
/// decides. So it accepts only input the general path accepts, with the same result.
/// Safe on unvalidated bytes (decode_header_into calls it first): every read is bounds-checked
/// and it accepts only one fixarray that ends exactly at the end of `b`.
inline bool decode_header_fast(std::string_view b, header& h) {
  auto const* p = reinterpret_cast<unsigned char const*>(b.data());
  auto const* const end = p + b.size();
  auto uint = [&](std::uint64_t max, auto& out) {
    if (p >= end) return false;
    std::uint64_t v;
    unsigned char const c = *p++;
    if (c <= 0x7f) {
      v = c;
    } else {
      int n;
      switch (c) {
        case 0xcc: n = 1; break;
        case 0xcd: n = 2; break;
        case 0xce: n = 4; break;
        case 0xcf: n = 8; break;
        default: return false;
      }
      if (end - p < n) return false;
      v = be(p, n);
      p += n;
    }
    if (v > max) return false;
    out = static_cast<std::remove_reference_t<decltype(out)>>(v);
    return true;
  };
  auto str = [&](std::string& out) {
    if (p >= end) return false;
    unsigned char const c = *p++;
    std::size_t n;
    if (c >= 0xa0 && c <= 0xbf) {
      n = c & 0x1fu;
    } else {
      int w;
      switch (c) {
        case 0xd9: w = 1; break;
        case 0xda: w = 2; break;
        case 0xdb: w = 4; break;
        default: return false;
      }
      if (end - p < w) return false;
      n = static_cast<std::size_t>(be(p, w));
      p += w;
    }
    if (static_cast<std::size_t>(end - p) < n) return false;
    // Requests come in runs for one actor type (often one id): keep an equal string as it is.
    if (out.size() != n || std::memcmp(out.data(), p, n) != 0) out.assign(reinterpret_cast<char const*>(p), n);
    p += n;
    return true;
  };
  if (p >= end) return false;
  unsigned char const a = *p++;
  if (a < 0x90 || a > 0x9f) return false;  // fixarray only
  std::size_t const size = a & 0x0fu;
  std::uint8_t ver = 0, k = 0;
  if (size < 3 || !uint(0xff, ver) || !uint(0xff, k) || !uint(~std::uint64_t{0}, h.request_id)) return false;
  if (ver != protocol_version) return false;
  if (k == static_cast<std::uint8_t>(kind::call) || k == static_cast<std::uint8_t>(kind::cast)) {
    if (size < call_header_fields || size > call_header_fields_max || !uint(~std::uint64_t{0}, h.fingerprint) || !str(h.actor) || !str(h.id) ||
        !uint(0xffffffffu, h.message_index) || !uint(0xffffffffu, h.timeout_ms) || p >= end)
      return false;
    unsigned char const t = *p++;
    if (t != 0xc2 && t != 0xc3) return false;
    h.has_init = t == 0xc3;
    h.chain = 0;
    if (size >= 10 && !uint(~std::uint64_t{0}, h.chain)) return false;
    if (size == 11) {
      if (!str(h.traceparent) || h.traceparent.empty() || h.traceparent.size() > max_traceparent_bytes) return false;
    } else {
      h.traceparent.clear();
    }
    h.node.clear();
  } else if (k == static_cast<std::uint8_t>(kind::reply)) {
    if (size != 4 || !str(h.node)) return false;
    h.fingerprint = 0;
    h.actor.clear();
    h.id.clear();
    h.message_index = 0;
    h.timeout_ms = 0;
    h.has_init = false;
    h.chain = 0;
    h.traceparent.clear();
  } else {
    return false;  // error and control frames are rare: the general path reads them
  }
  h.k = static_cast<kind>(k);
  return p == end;
}
}  // namespace detail

namespace detail {
/// The general header reader (msgpack-c) behind decode_header; `bytes` passed validate().
inline result<header> decode_header_general(std::string_view bytes) {
  try {
    std::size_t const n = bytes.size();
    return detail::with_unpacked(bytes, msgpack::unpack_limit(n, n, n, n, n, 2), [&](msgpack::object const& o) -> result<header> {
      if (o.type != msgpack::type::ARRAY || o.via.array.size < 3)
        return fail(errc::bad_message, "frame header is not an array of at least 3 fields");
      auto const* a = o.via.array.ptr;
      auto const size = o.via.array.size;
      std::uint8_t ver = 0, k = 0;
      header h;
      if (!detail::read(a[0], ver) || !detail::read(a[1], k) || !detail::read(a[2], h.request_id))
        return fail(errc::bad_message, "frame header fields have wrong types");
      if (ver != protocol_version)
        return fail(errc::bad_message, "unsupported protocol version " + std::to_string(ver) + " (this node speaks " +
                                           std::to_string(protocol_version) + ")");
      if (k > static_cast<std::uint8_t>(kind::batch)) return fail(errc::bad_message, "unknown frame kind " + std::to_string(k));
      h.k = static_cast<kind>(k);
      bool ok = true;
      switch (h.k) {
        case kind::call:
        case kind::cast:
          ok = size >= call_header_fields && size <= call_header_fields_max && detail::read(a[3], h.fingerprint) && detail::read(a[4], h.actor) &&
               detail::read(a[5], h.id) && detail::read(a[6], h.message_index) && detail::read(a[7], h.timeout_ms) &&
               detail::read(a[8], h.has_init) && (size == 9 || detail::read(a[9], h.chain));
          // Present means a non-empty string within bounds: absent is encoded by leaving it out.
          if (ok && size == 11)
            ok = a[10].type == msgpack::type::STR && detail::read(a[10], h.traceparent) && !h.traceparent.empty() &&
                 h.traceparent.size() <= max_traceparent_bytes;
          break;
        case kind::reply: ok = size == 4 && detail::read(a[3], h.node); break;
        case kind::error: {
          std::uint16_t c = 0;
          ok = size == 5 && detail::read(a[3], c) && detail::read(a[4], h.text);
          h.code = static_cast<errc>(c);
          if (ok && (h.code == errc::ok || !is_known(h.code))) {
            h.text = "peer sent unknown error code " + std::to_string(c) + ": " + h.text;
            h.code = errc::bad_message;
          }
          break;
        }
        case kind::control: ok = size == 4 && detail::read(a[3], h.control); break;
        case kind::batch: ok = size == 4 && detail::read(a[3], h.frames) && h.frames > 0 && h.frames <= max_batch_frames; break;
      }
      if (!ok) return fail(errc::bad_message, "frame header of kind " + std::to_string(k) + " has wrong arity or field types");
      return h;
    });
  } catch (std::exception const& e) {
    return fail(errc::bad_message, std::string("malformed frame header: ") + e.what());
  }
}

}  // namespace detail

/// Decodes a header part into `h` (reusing its strings' capacity). Wrong version, unknown kind,
/// wrong arity or types: errc::bad_message, and `h` is unspecified.
inline result<void> decode_header_into(std::string_view bytes, header& h, limits const& lim = {}) {
  limits hl = lim;
  if (hl.max_payload_bytes > max_header_bytes) hl.max_payload_bytes = max_header_bytes;  // headers are small
  hl.max_depth = 2;
  // The exact reader checks every length and accepts only one flat array with nothing after it,
  // so only the size limit of validate() is left to check when it succeeds.
  if (bytes.size() <= hl.max_payload_bytes && !bytes.empty()) {
    h.code = errc::ok;  // the fields neither hot kind has (the fast reader resets the others)
    h.text.clear();
    h.control = 0;
    h.frames = 0;
    if (detail::decode_header_fast(bytes, h)) return {};
  }
  if (auto ok = validate(bytes, hl); !ok) return fail(errc::bad_message, "frame header: " + ok.error().message);
  auto r = detail::decode_header_general(bytes);
  if (!r) return std::move(r).error();
  h = std::move(*r);
  return {};
}

/// Decodes a header part. Wrong version, unknown kind, wrong arity or types: errc::bad_message.
inline result<header> decode_header(std::string_view bytes, limits const& lim = {}) {
  header h;
  if (auto ok = decode_header_into(bytes, h, lim); !ok) return std::move(ok).error();
  return h;
}

/// Decodes a multipart frame into `out` (reusing the capacity of its strings and body): header,
/// then exactly the body parts its kind requires, each a valid msgpack body within `lim`. Bodies
/// are validated, not converted: the receiver that knows the message type converts them with
/// decode<T>. On failure `out` is unspecified.
inline result<void> decode_frame_into(frame& out, std::span<std::string_view const> parts, limits const& lim = {}) {
  if (parts.empty()) return fail(errc::bad_message, "empty frame");
  if (auto ok = decode_header_into(parts[0], out.h, lim); !ok) return ok;
  std::size_t const want = detail::body_parts_for(out.h);
  if (parts.size() != 1 + want)
    return fail(errc::bad_message, "frame has " + std::to_string(parts.size() - 1) + " body parts, expected " + std::to_string(want));
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (auto ok = validate(parts[i], lim); !ok) return fail(ok.error().code, "frame body: " + ok.error().message);
  out.body.resize(want);
  for (std::size_t i = 0; i < want; ++i) out.body[i].assign(parts[i + 1]);
  return {};
}

/// Decodes a multipart frame: header, then exactly the body parts its kind requires, each a
/// valid msgpack body within `lim`. Bodies are validated, not converted: the receiver that
/// knows the message type converts them with decode<T>.
inline result<frame> decode_frame(std::span<std::string_view const> parts, limits const& lim = {}) {
  frame f;
  if (auto ok = decode_frame_into(f, parts, lim); !ok) return std::move(ok).error();
  return f;
}

// ---- batches ------------------------------------------------------------------------------

/// Builds a batch frame (kind::batch): several frames sent as one ZeroMQ message, which costs
/// libzmq and both ends one message instead of one per frame. Its one body part is a msgpack bin
/// whose bytes are the frames' parts one after the other, each part a msgpack object (header,
/// then the body parts its kind requires), as docs/wire.md ("Batches") describes.
/// Reuses the capacity of the frame it builds in.
struct batch_writer {
  /// Bytes of the bin 32 prefix a batch body starts with.
  static constexpr std::size_t prefix = 5;
  /// Starts an empty batch in `out`.
  static void start(frame& out) {
    out.h.k = kind::batch;
    out.h.request_id = 0;
    out.h.frames = 0;
    out.body.resize(1);
    start_body(out.body[0]);
  }
  /// Appends `f` (not itself a batch) to the batch in `out`.
  static void append(frame& out, frame const& f) {
    append_body(out.body[0], f);
    ++out.h.frames;
  }
  /// Completes the batch in `out` for sending.
  static void finish(frame& out) { finish_body(out.body[0]); }

  /// The same on the body part alone (its frame count kept elsewhere).
  static void start_body(std::string& b) { b.assign(prefix, '\0'); }  // the prefix is written by finish
  static void append_body(std::string& b, frame const& f) {
    detail::append_header(b, f.h);
    for (auto const& part : f.body) b.append(part);
  }
  static void finish_body(std::string& b) {
    auto const n = static_cast<std::uint32_t>(b.size() - prefix);
    b[0] = static_cast<char>(0xc6);
    for (int i = 0; i < 4; ++i) b[static_cast<std::size_t>(1 + i)] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
  }
};

namespace detail {
/// for_each_batched's body, compiled once (not once per callback type).
inline result<void> for_each_batched(frame const& b, frame& scratch, limits const& lim, void* ctx,
                                     void (*on_frame)(void*, frame&)) {
  if (b.h.k != kind::batch || b.body.size() != 1) return fail(errc::bad_message, "not a batch frame");
  std::string_view rest = b.body[0];
  auto const bin = rest.empty() ? 0u : static_cast<unsigned char>(rest[0]);
  std::size_t const prefix = bin == 0xc4 ? 2 : bin == 0xc5 ? 3 : bin == 0xc6 ? 5 : 0;
  if (prefix == 0 || rest.size() < prefix) return fail(errc::bad_message, "batch body is not a msgpack bin");
  std::uint64_t len = 0;
  for (std::size_t i = 1; i < prefix; ++i) len = (len << 8) | static_cast<unsigned char>(rest[i]);
  rest.remove_prefix(prefix);
  if (len != rest.size()) return fail(errc::bad_message, "batch body's bin length does not match its size");
  std::string_view parts[1 + body_parts::capacity];
  auto next = [&](std::string_view& part) -> result<void> {
    std::size_t n = 0;
    if (rest.empty()) return fail(errc::bad_message, "batch holds fewer frames than its header says");
    if (auto ok = detail::object_size(rest, lim, n); !ok) return fail(errc::bad_message, "batched frame: " + ok.error().message);
    if (n > lim.max_payload_bytes)
      return fail(errc::bad_message, "batched part of " + std::to_string(n) + " bytes exceeds the limit of " +
                                         std::to_string(lim.max_payload_bytes));
    part = rest.substr(0, n);
    rest.remove_prefix(n);
    return {};
  };
  for (std::uint32_t i = 0; i < b.h.frames; ++i) {
    if (auto ok = next(parts[0]); !ok) return ok;
    if (auto ok = decode_header_into(parts[0], scratch.h, lim); !ok) return ok;
    if (scratch.h.k == kind::batch) return fail(errc::bad_message, "a batch inside a batch");
    std::size_t const want = detail::body_parts_for(scratch.h);
    for (std::size_t j = 0; j < want; ++j)
      if (auto ok = next(parts[1 + j]); !ok) return ok;
    scratch.body.resize(want);
    for (std::size_t j = 0; j < want; ++j) scratch.body[j].assign(parts[1 + j]);
    on_frame(ctx, scratch);
  }
  if (!rest.empty()) return fail(errc::bad_message, "batch holds more frames than its header says");
  return {};
}
}  // namespace detail

/// Calls `on_frame(frame&)` for each frame of the batch `b` (a frame of kind::batch, as
/// decode_frame_into left it), decoded into `scratch` with the checks decode_frame_into applies
/// to a frame received alone; `on_frame` may move from it. Stops at the first frame that does not
/// decode (errc::bad_message; the frames before it were delivered). A batch inside a batch, or a
/// frame count other than the header's, is bad_message too.
template <class F>
result<void> for_each_batched(frame const& b, frame& scratch, limits const& lim, F&& on_frame) {
  using fn = std::remove_reference_t<F>;
  return detail::for_each_batched(b, scratch, lim, const_cast<void*>(static_cast<void const*>(&on_frame)),
                                  [](void* c, frame& f) { (*static_cast<fn*>(c))(f); });
}

}  // namespace mesh::wire
