// Shared by the benchmark binaries: JSON output. json_number (numbers, null when not finite),
// json_list, and json_writer, the streaming writer of the pretty-printed documents. Header-only,
// standard library. The figures of a timed case as JSON are in timed.hpp, next to them.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mesh_bench {

/// A number as JSON (null when not finite), at most three decimals, shortest form.
inline std::string json_number(double d) {
  if (!std::isfinite(d)) return "null";
  double const r = std::round(d * 1000.0) / 1000.0;
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, r, std::chars_format::fixed);
  return std::string(buf, ec == std::errc{} ? p : buf);
}

/// `[1, 2.5, null]`: numbers as json_number, on one line.
inline std::string json_list(std::vector<double> const& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_number(v[i]);
  return s + "]";
}

/// A minimal streaming JSON writer (objects, arrays, numbers, strings, booleans, null).
class json_writer {
 public:
  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  /// An array written on one line (for short lists of numbers).
  json_writer& begin_inline_array() {
    open('[');
    inline_depth_ = first_.size();
    return *this;
  }
  json_writer& end_array() { return close(']'); }
  json_writer& key(std::string_view k) {
    separate();
    string_literal(k);
    out_ += ": ";
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) {
    separate();
    string_literal(s);
    return *this;
  }
  json_writer& value(char const* s) { return value(std::string_view(s)); }
  json_writer& value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  json_writer& value(std::size_t n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }
  json_writer& value(double d) {
    separate();
    out_ += mesh_bench::json_number(d);  // null when not finite; 1234567.891, 412, 0.125
    return *this;
  }
  json_writer& null() {
    separate();
    out_ += "null";
    return *this;
  }
  template <class T>
  json_writer& field(std::string_view k, T const& v) {
    key(k);
    return value(v);
  }
  std::string const& str() const noexcept { return out_; }

 private:
  json_writer& open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  json_writer& close(char c) {
    bool const empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += c;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    newline();
  }
  void newline() {
    if (inline_depth_ != 0) {  // inside an inline array, or closing it
      if (first_.size() < inline_depth_) inline_depth_ = 0;
      out_ += ' ';
      return;
    }
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  void string_literal(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
  std::size_t inline_depth_ = 0;  // depth of the open inline array (0: none)
};

inline void write_list(json_writer& j, std::vector<double> const& v) {
  j.begin_inline_array();
  for (double x : v) j.value(x);
  j.end_array();
}

}  // namespace mesh_bench
