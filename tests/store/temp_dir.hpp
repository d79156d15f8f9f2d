#pragma once
// A fresh directory under $TMPDIR (or /tmp), removed with its files when the test ends.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    char const* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/mesh-store-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(std::string const& name) const { return (path / name).string(); }
};
