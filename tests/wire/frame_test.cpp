// mesh::wire frames: the multipart layout of docs/wire.md, per kind, and its validation.
#include "messages.hpp"

#include <mesh/version.hpp>
#include <mesh/wire/codec.hpp>
#include <mesh/wire/frame.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace test_msgs;
using mesh::errc;
namespace wire = mesh::wire;

namespace {

std::vector<std::string_view> views(std::vector<std::string> const& parts) {
  return {parts.begin(), parts.end()};
}

mesh::result<wire::frame> decode_parts(std::vector<std::string> const& parts, wire::limits const& lim = {}) {
  auto const v = views(parts);
  return wire::decode_frame(v, lim);
}

void check_rejected(std::vector<std::string> const& parts, wire::limits const& lim = {}, errc want = errc::bad_message) {
  auto r = decode_parts(parts, lim);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == want);
}

wire::frame call_frame(bool with_init) {
  wire::frame f;
  f.h.k = wire::kind::call;
  f.h.request_id = 0x1122334455667788ull;
  f.h.fingerprint = 0xfedcba9876543210ull;
  f.h.actor = "counter";
  f.h.id = "c1";
  f.h.message_index = 2;
  f.h.timeout_ms = 5000;
  f.h.has_init = with_init;
  f.body.push_back(wire::encode(Point{5, 6}));
  if (with_init) f.body.push_back(wire::encode(Adapted{"start", {}, color::red}));
  return f;
}

wire::frame cast_frame() {
  wire::frame f = call_frame(false);
  f.h.k = wire::kind::cast;
  f.h.timeout_ms = 0;
  return f;
}

wire::frame reply_frame() {
  wire::frame f;
  f.h.k = wire::kind::reply;
  f.h.request_id = 77;
  f.h.node = "n1";
  f.body.push_back(wire::encode(std::int64_t{105}));
  return f;
}

wire::frame error_frame(errc code = errc::actor_failed) {
  wire::frame f;
  f.h.k = wire::kind::error;
  f.h.request_id = 78;
  f.h.code = code;
  f.h.text = "handler threw: boom";
  return f;
}

wire::frame control_frame() {
  wire::frame f;
  f.h.k = wire::kind::control;
  f.h.request_id = 0;
  f.h.control = 3;
  f.body.push_back(wire::encode(std::vector<std::string>{"n1", "n2"}));
  return f;
}

// The header part as a msgpack array of objects, read with msgpack-c directly.
std::vector<msgpack::object> header_fields(std::string const& header, msgpack::object_handle& keep) {
  keep = msgpack::unpack(header.data(), header.size());
  msgpack::object const& o = keep.get();
  REQUIRE(o.type == msgpack::type::ARRAY);
  return {o.via.array.ptr, o.via.array.ptr + o.via.array.size};
}

std::string header_of(std::vector<msgpack::object> const& fields) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, fields);
  return {buf.data(), buf.size()};
}

}  // namespace

TEST_CASE("frame kinds have their documented wire numbers") {
  CHECK(static_cast<int>(wire::kind::call) == 0);
  CHECK(static_cast<int>(wire::kind::cast) == 1);
  CHECK(static_cast<int>(wire::kind::reply) == 2);
  CHECK(static_cast<int>(wire::kind::error) == 3);
  CHECK(static_cast<int>(wire::kind::control) == 4);
  CHECK(mesh::protocol_version == 2);
}

TEST_CASE("encode_frame and decode_frame round-trip every frame kind") {
  for (auto const& f : {call_frame(true), call_frame(false), cast_frame(), reply_frame(), error_frame(),
                        error_frame(errc::invalid_argument), control_frame()}) {
    CAPTURE(static_cast<int>(f.h.k));
    auto const parts = wire::encode_frame(f);
    CHECK(parts.size() == 1 + f.body.size());
    CHECK(parts[0] == wire::encode_header(f.h));
    auto back = decode_parts(parts);
    REQUIRE_MESSAGE(back.has_value(), back.error().message);
    CHECK(*back == f);
    auto h = wire::decode_header(parts[0]);
    REQUIRE(h.has_value());
    CHECK(*h == f.h);
  }
  auto back = decode_parts(wire::encode_frame(call_frame(true)));
  REQUIRE(back.has_value());
  auto payload = wire::decode<Point>(back->body[0]);
  REQUIRE(payload.has_value());
  CHECK(*payload == Point{5, 6});
  auto init = wire::decode<Adapted>(back->body[1]);
  REQUIRE(init.has_value());
  CHECK(init->name == "start");
}

TEST_CASE("frame headers are msgpack arrays with the documented field order") {
  msgpack::object_handle keep;
  auto call = header_fields(wire::encode_header(call_frame(true).h), keep);
  REQUIRE(call.size() == 9);
  CHECK(call[0].as<unsigned>() == mesh::protocol_version);
  CHECK(call[1].as<unsigned>() == 0);
  CHECK(call[2].as<std::uint64_t>() == 0x1122334455667788ull);
  CHECK(call[3].as<std::uint64_t>() == 0xfedcba9876543210ull);
  CHECK(call[4].as<std::string>() == "counter");
  CHECK(call[5].as<std::string>() == "c1");
  CHECK(call[6].as<unsigned>() == 2);
  CHECK(call[7].as<unsigned>() == 5000);
  CHECK(call[8].as<bool>() == true);

  auto cast = header_fields(wire::encode_header(cast_frame().h), keep);
  REQUIRE(cast.size() == 9);
  CHECK(cast[1].as<unsigned>() == 1);

  auto reply = header_fields(wire::encode_header(reply_frame().h), keep);
  REQUIRE(reply.size() == 4);
  CHECK(reply[1].as<unsigned>() == 2);
  CHECK(reply[2].as<std::uint64_t>() == 77);
  CHECK(reply[3].as<std::string>() == "n1");

  auto error = header_fields(wire::encode_header(error_frame().h), keep);
  REQUIRE(error.size() == 5);
  CHECK(error[1].as<unsigned>() == 3);
  CHECK(error[2].as<std::uint64_t>() == 78);
  CHECK(error[3].as<unsigned>() == static_cast<unsigned>(errc::actor_failed));
  CHECK(error[4].as<std::string>() == "handler threw: boom");

  auto control = header_fields(wire::encode_header(control_frame().h), keep);
  REQUIRE(control.size() == 4);
  CHECK(control[1].as<unsigned>() == 4);
  CHECK(control[3].as<unsigned>() == 3);

  // A reply header is exactly [2, 2, 77, "n1"] (protocol version 2).
  std::string const expected{'\x94', '\x02', '\x02', '\x4d', '\xa2', 'n', '1'};
  CHECK(wire::encode_header(reply_frame().h) == expected);
}

TEST_CASE("decode_frame rejects a frame with the wrong number of body parts") {
  check_rejected({});
  for (auto const& f : {call_frame(true), call_frame(false), cast_frame(), reply_frame(), error_frame(), control_frame()}) {
    CAPTURE(static_cast<int>(f.h.k));
    auto parts = wire::encode_frame(f);
    auto more = parts;
    more.push_back(wire::encode(1));
    check_rejected(more);
    if (parts.size() > 1) {
      auto fewer = parts;
      fewer.pop_back();
      check_rejected(fewer);
    }
  }
  auto with_init_flag = call_frame(false);
  with_init_flag.h.has_init = true;  // says an init part follows, but none does
  check_rejected(wire::encode_frame(with_init_flag));
}

TEST_CASE("decode_frame rejects another protocol version and unknown frame kinds") {
  msgpack::object_handle keep;
  auto fields = header_fields(wire::encode_header(reply_frame().h), keep);
  auto const body = wire::encode(1);
  for (unsigned version : {0u, 1u, 3u, 255u}) {
    fields[0] = msgpack::object(version);
    check_rejected({header_of(fields), body});
  }
  fields[0] = msgpack::object(1u);
  for (unsigned k : {6u, 7u, 127u, 255u}) {
    fields[1] = msgpack::object(k);
    check_rejected({header_of(fields), body});
  }
  fields[1] = msgpack::object(-1);
  check_rejected({header_of(fields), body});
}

TEST_CASE("decode_frame rejects headers with the wrong arity or field types") {
  auto const body = wire::encode(1);
  check_rejected({wire::encode(std::vector<int>{1, 2}), body});  // fewer than 3 fields
  check_rejected({wire::encode(std::map<int, int>{{1, 2}}), body});
  check_rejected({wire::encode(std::string("header")), body});
  msgpack::object_handle keep;
  {
    auto fields = header_fields(wire::encode_header(reply_frame().h), keep);
    auto longer = fields;
    longer.push_back(msgpack::object(1));
    check_rejected({header_of(longer), body});
    fields[3] = msgpack::object(5);  // node name must be a string
    check_rejected({header_of(fields), body});
    fields[3] = msgpack::object(std::string("n1"), *keep.zone());
    fields[2] = msgpack::object(-5);  // request id must be unsigned
    check_rejected({header_of(fields), body});
  }
  {
    auto const parts = wire::encode_frame(call_frame(false));
    auto fields = header_fields(parts[0], keep);
    for (std::size_t i = 3; i < fields.size(); ++i) {
      CAPTURE(i);
      auto bad = fields;
      bad[i] = msgpack::object(std::vector<int>{}, *keep.zone());  // an array where a scalar belongs
      check_rejected({header_of(bad), parts[1]});
    }
    auto bad = fields;
    bad[6] = msgpack::object(std::uint64_t{1} << 33);  // message_index is 32 bits
    check_rejected({header_of(bad), parts[1]});
    bad = fields;
    bad[8] = msgpack::object(1);  // has_init must be a bool
    check_rejected({header_of(bad), parts[1]});
    auto shorter = fields;
    shorter.pop_back();
    check_rejected({header_of(shorter), parts[1]});
  }
}

TEST_CASE("decode_frame turns an unknown or zero error code into bad_message") {
  msgpack::object_handle keep;
  auto fields = header_fields(wire::encode_header(error_frame().h), keep);
  for (unsigned code : {0u, 20u, 999u, 65535u}) {
    CAPTURE(code);
    fields[3] = msgpack::object(code);
    auto f = decode_parts({header_of(fields)});
    REQUIRE(f.has_value());  // the frame is well-formed: the peer failed with a code we do not know
    CHECK(f->h.code == errc::bad_message);
    CHECK(f->h.text.find(std::to_string(code)) != std::string::npos);
    CHECK(f->h.text.find("handler threw: boom") != std::string::npos);
  }
  fields[3] = msgpack::object(65536u);  // does not fit the 16-bit code
  check_rejected({header_of(fields)});
}

TEST_CASE("decode_frame rejects invalid or oversized msgpack in any part") {
  auto parts = wire::encode_frame(call_frame(true));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    CAPTURE(i);
    auto bad = parts;
    bad[i].pop_back();  // truncated
    check_rejected(bad);
    bad = parts;
    bad[i].push_back('\x00');  // trailing byte
    check_rejected(bad);
    bad = parts;
    bad[i] = "";
    check_rejected(bad);
    bad = parts;
    bad[i] = "\xc1";
    check_rejected(bad);
  }
  wire::limits small;
  small.max_payload_bytes = 64;
  auto big = call_frame(false);
  big.body[0] = wire::encode(std::string(100, 'x'));
  CHECK(decode_parts(wire::encode_frame(big)).has_value());
  check_rejected(wire::encode_frame(big), small, errc::too_large);
  small.max_depth = 1;
  auto deep = call_frame(false);
  deep.body[0] = wire::encode(std::vector<std::vector<int>>{{1}});
  check_rejected(wire::encode_frame(deep), small);
}

TEST_CASE("decode_header rejects headers above 64 KiB or nested inside a field") {
  auto f = call_frame(false);
  f.h.actor = std::string(70000, 'a');
  auto parts = wire::encode_frame(f);
  check_rejected(parts);
  f.h.actor = std::string(60000, 'a');  // under the header limit
  CHECK(decode_parts(wire::encode_frame(f)).has_value());

  msgpack::object_handle keep;
  auto fields = header_fields(wire::encode_header(reply_frame().h), keep);
  fields[3] = msgpack::object(std::vector<std::vector<int>>{{1}}, *keep.zone());
  check_rejected({header_of(fields), wire::encode(1)});
}

TEST_CASE("decode_frame validates bodies without converting them") {
  auto f = call_frame(false);
  f.body[0] = wire::encode(std::map<std::string, std::string>{{"any", "valid msgpack"}});
  auto back = decode_parts(wire::encode_frame(f));
  REQUIRE(back.has_value());
  CHECK(back->body[0] == f.body[0]);
  auto as_point = wire::decode<Point>(back->body[0]);  // the receiver's conversion rejects it
  REQUIRE_FALSE(as_point.has_value());
  CHECK(as_point.error().code == errc::bad_message);
}

TEST_CASE("encode_header cuts an error text above 16 KiB so that the error frame still decodes") {
  auto f = error_frame();
  f.h.text = std::string(wire::max_error_text_bytes - 1, 'a') + "\xc3\xa9" + std::string(200000, 'b');
  auto back = decode_parts(wire::encode_frame(f));
  REQUIRE_MESSAGE(back.has_value(), back.error().message);
  CHECK(back->h.code == errc::actor_failed);
  // Cut before the two-byte character that straddles the limit, never inside it.
  CHECK(back->h.text == std::string(wire::max_error_text_bytes - 1, 'a'));
  f.h.text = std::string(wire::max_error_text_bytes, 'c');  // exactly at the limit: kept whole
  back = decode_parts(wire::encode_frame(f));
  REQUIRE(back.has_value());
  CHECK(back->h.text == f.h.text);
}

namespace {
// msgpack-c's packer writing the documented header fields: encode_header_to must produce exactly
// these bytes (it writes them itself, without the packer, because it runs on every request).
std::string header_by_msgpack_c(wire::header const& h) {
  std::string out;
  struct writer {
    std::string* s;
    void write(char const* d, std::size_t k) { s->append(d, k); }
  } w{&out};
  msgpack::packer<writer> pk(w);
  auto const v = static_cast<std::uint8_t>(mesh::protocol_version);
  auto const k = static_cast<std::uint8_t>(h.k);
  switch (h.k) {
    case wire::kind::call:
    case wire::kind::cast:
      pk.pack_array(9);
      pk.pack(v); pk.pack(k); pk.pack(h.request_id); pk.pack(h.fingerprint); pk.pack(h.actor); pk.pack(h.id);
      pk.pack(h.message_index); pk.pack(h.timeout_ms); pk.pack(h.has_init);
      break;
    case wire::kind::reply:
      pk.pack_array(4);
      pk.pack(v); pk.pack(k); pk.pack(h.request_id); pk.pack(h.node);
      break;
    case wire::kind::error:
      pk.pack_array(5);
      pk.pack(v); pk.pack(k); pk.pack(h.request_id); pk.pack(static_cast<std::uint16_t>(h.code));
      pk.pack(std::string_view(h.text).substr(0, wire::max_error_text_bytes));  // ASCII text: no UTF-8 boundary to find
      break;
    case wire::kind::control:
      pk.pack_array(4);
      pk.pack(v); pk.pack(k); pk.pack(h.request_id); pk.pack(h.control);
      break;
    case wire::kind::batch:
      pk.pack_array(4);
      pk.pack(v); pk.pack(k); pk.pack(h.request_id); pk.pack(h.frames);
      break;
  }
  return out;
}
}  // namespace

TEST_CASE("encode_header writes the same bytes as msgpack-c's packer for every kind, number and length class") {
  std::uint64_t const numbers[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull, ~0ull};
  std::size_t const lengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
  std::uint64_t seed = 0x5eed0007;
  auto next = [&] { return seed = seed * 6364136223846793005ull + 1442695040888963407ull; };
  int checked = 0;
  for (int kind = 0; kind <= 5; ++kind)
    for (std::uint64_t n : numbers)
      for (std::size_t len : lengths) {
        wire::header h;
        h.k = static_cast<wire::kind>(kind);
        h.request_id = n;
        h.fingerprint = next();
        h.actor = std::string(len, 'a');
        h.id = std::string(lengths[next() % std::size(lengths)], 'i');
        h.message_index = static_cast<std::uint32_t>(n);
        h.timeout_ms = static_cast<std::uint32_t>(next());
        h.has_init = (next() & 1) != 0;
        h.node = std::string(len, 'n');
        h.code = mesh::errc::timeout;
        h.text = std::string(len, 't');
        h.control = static_cast<std::uint16_t>(n);
        h.frames = 1 + static_cast<std::uint32_t>(n % wire::max_batch_frames);  // 1..1024 frames
        auto const bytes = wire::encode_header(h);
        CHECK(bytes == header_by_msgpack_c(h));
        if (bytes.size() <= wire::max_header_bytes) {  // and it still reads back
          auto back = wire::decode_header(bytes);
          REQUIRE(back);
          CHECK(back->request_id == n);
        }
        ++checked;
      }
  CHECK(checked == 6 * 11 * 9);
}

// ---- batches ------------------------------------------------------------------------------

namespace {
wire::frame batch_of(std::vector<wire::frame> const& frames) {
  wire::frame b;
  wire::batch_writer::start(b);
  for (auto const& f : frames) wire::batch_writer::append(b, f);
  wire::batch_writer::finish(b);
  return b;
}

// The frames of a batch as received: encode_frame, decode_frame, then for_each_batched.
mesh::result<std::vector<wire::frame>> unbatch(std::vector<std::string> const& parts, wire::limits const& lim = {}) {
  auto b = decode_parts(parts, lim);
  if (!b) return std::move(b).error();
  std::vector<wire::frame> out;
  wire::frame scratch;
  auto ok = wire::for_each_batched(*b, scratch, lim, [&](wire::frame& f) { out.push_back(std::move(f)); });
  if (!ok) return std::move(ok).error();
  return out;
}

// A batch's two parts with its body part replaced by a bin of `content` (frames: its header's count).
std::vector<std::string> batch_parts(std::string const& content, std::uint32_t frames) {
  wire::frame b;
  wire::batch_writer::start(b);
  b.body[0] += content;
  b.h.frames = frames;
  wire::batch_writer::finish(b);
  return wire::encode_frame(b);
}

std::string frame_bytes(wire::frame const& f) {
  std::string s;
  for (auto const& p : wire::encode_frame(f)) s += p;
  return s;
}
}  // namespace

TEST_CASE("a batch carries frames of every kind, in order, and they decode as if sent alone") {
  std::vector<wire::frame> const frames = {reply_frame(), error_frame(), call_frame(true), cast_frame(), control_frame(),
                                           call_frame(false)};
  auto const b = batch_of(frames);
  auto const parts = wire::encode_frame(b);
  REQUIRE(parts.size() == 2);
  // Header [2, 5, 0, 6]; body: bin 32 holding each frame's parts back to back.
  CHECK(parts[0] == std::string("\x94\x02\x05\x00\x06", 5));
  std::string content;
  for (auto const& f : frames) content += frame_bytes(f);
  CHECK(static_cast<unsigned char>(parts[1][0]) == 0xc6);
  CHECK(parts[1].substr(5) == content);
  auto back = unbatch(parts);
  REQUIRE(back);
  REQUIRE(back->size() == frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) CHECK((*back)[i] == frames[i]);
}

TEST_CASE("a batch whose frames do not match its header or its layout is rejected") {
  auto const one = frame_bytes(reply_frame());
  auto const two = one + frame_bytes(error_frame());
  CHECK(unbatch(batch_parts(two, 2)));
  for (std::uint32_t wrong : {1u, 3u}) {  // fewer or more frames than announced
    auto r = unbatch(batch_parts(two, wrong));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_message);
  }
  check_rejected(batch_parts(two, 0));  // a batch holds at least one frame ...
  check_rejected(batch_parts(two, wire::max_batch_frames + 1));  // ... and at most 1024
  {
    std::string many;
    for (std::uint32_t i = 0; i < wire::max_batch_frames; ++i) many += one;
    auto r = unbatch(batch_parts(many, wire::max_batch_frames));
    REQUIRE(r);
    CHECK(r->size() == wire::max_batch_frames);
  }
  // A batch inside a batch.
  {
    auto inner = batch_of({reply_frame()});
    auto r = unbatch(batch_parts(frame_bytes(inner), 1));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("batch inside a batch") != std::string::npos);
  }
  // Every cut of the content (a truncated frame) is rejected; nothing reads past the bytes.
  for (std::size_t cut = 0; cut < two.size(); ++cut) CHECK_FALSE(unbatch(batch_parts(two.substr(0, cut), 2)));
  // A body that is not a bin, or whose bin length disagrees with its size.
  check_rejected({wire::encode_header(batch_of({reply_frame()}).h), two});  // two objects: trailing bytes
  {
    wire::frame b = batch_of({reply_frame()});
    b.body[0] = wire::encode(std::string(one));  // a str, not a bin
    wire::frame scratch;
    CHECK_FALSE(wire::for_each_batched(b, scratch, {}, [](wire::frame&) {}));
    b = batch_of({reply_frame()});
    b.body[0].push_back('\0');  // one byte more than the bin says
    CHECK_FALSE(wire::for_each_batched(b, scratch, {}, [](wire::frame&) {}));
  }
  // A reply without its body part, followed by another frame's header: the count is off.
  {
    auto r = unbatch(batch_parts(wire::encode_header(reply_frame().h) + wire::encode_header(error_frame().h), 2));
    CHECK_FALSE(r);
  }
}

TEST_CASE("a batched frame is held to the receiver's limits and stops the batch where it is bad") {
  auto big = reply_frame();
  big.body[0] = wire::encode(std::string(1000, 'x'));
  std::vector<wire::frame> const frames = {reply_frame(), big, error_frame()};
  auto const parts = wire::encode_frame(batch_of(frames));
  wire::limits lim;
  lim.max_payload_bytes = 2000;  // the batch's body fits; its second frame's body part fits too
  REQUIRE(unbatch(parts, lim));
  auto b = decode_parts(parts, wire::limits{});
  REQUIRE(b);
  lim.max_payload_bytes = 500;  // the second frame's body does not
  std::vector<wire::frame> got;
  wire::frame scratch;
  auto r = wire::for_each_batched(*b, scratch, lim, [&](wire::frame& f) { got.push_back(f); });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::bad_message);
  REQUIRE(got.size() == 1);  // the frame before the bad one was delivered, none after it
  CHECK(got[0] == reply_frame());
  // A bad header in the middle (another version) stops the batch there too.
  auto bad = frame_bytes(reply_frame());
  bad[1] = static_cast<char>(mesh::protocol_version + 1);
  got.clear();
  auto parts2 = batch_parts(frame_bytes(reply_frame()) + bad + frame_bytes(error_frame()), 3);
  auto b2 = decode_parts(parts2);
  REQUIRE(b2);
  CHECK_FALSE(wire::for_each_batched(*b2, scratch, {}, [&](wire::frame& f) { got.push_back(f); }));
  CHECK(got.size() == 1);
}

TEST_CASE("random bytes and mutations of a batch never crash its reader") {
  std::vector<wire::frame> const frames = {reply_frame(), error_frame(), call_frame(true), control_frame()};
  auto const content = [&] {
    std::string s;
    for (auto const& f : frames) s += frame_bytes(f);
    return s;
  }();
  std::uint64_t seed = 0xba7c4;
  auto next = [&] { return seed = seed * 6364136223846793005ull + 1442695040888963407ull; };
  int accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string c = content;
    int const edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      auto const at = static_cast<std::size_t>(next() % c.size());
      switch (next() % 3) {
        case 0: c[at] = static_cast<char>(next()); break;
        case 1: c.erase(at, 1 + next() % 8); break;
        default: c.insert(at, 1, static_cast<char>(next())); break;
      }
      if (c.empty()) c = "\x90";
    }
    auto const n = static_cast<std::uint32_t>(1 + next() % 6);
    auto r = unbatch(batch_parts(c, n));
    if (r) {
      ++accepted;
      CHECK(r->size() == n);
      for (auto const& f : *r) CHECK(f.h.k != wire::kind::batch);
    }
  }
  CHECK(accepted < 4000);
}

TEST_CASE("a call's chain id is a 10th header field, present only when set, and round-trips") {
  msgpack::object_handle keep;
  auto f = call_frame(false);
  CHECK(f.h.chain == 0);
  CHECK(header_fields(wire::encode_header(f.h), keep).size() == 9);  // no chain: the 9-field header
  f.h.chain = 0xdeadbeefcafef00dull;
  auto const fields = header_fields(wire::encode_header(f.h), keep);
  REQUIRE(fields.size() == 10);
  CHECK(fields[9].as<std::uint64_t>() == 0xdeadbeefcafef00dull);
  auto back = decode_parts(wire::encode_frame(f));
  REQUIRE(back.has_value());
  CHECK(back->h.chain == f.h.chain);
  CHECK(*back == f);
  // The general reader (any msgpack integer width) agrees with the fast one.
  auto wide = header_fields(wire::encode_header(f.h), keep);
  auto h = wire::decode_header(header_of(wide));
  REQUIRE(h.has_value());
  CHECK(h->chain == f.h.chain);
}
