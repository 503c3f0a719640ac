// Reading a whole input file with errors that name it. Internal to libvgpu.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"

namespace vgpu::files {

// Reads @p path; @p kind names the file in messages ("host description": "cannot open host
// description X: ...", "X is a directory; give a host description file (JSON)").
inline Result<std::string> read_text(const std::filesystem::path& path, std::string_view kind) {
  const std::string named = (kind.empty() ? "" : std::string(kind) + " ") + path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(Errc::invalid_argument, path.string() + " is a directory; give a " +
                                            std::string(kind.empty() ? "JSON" : kind) +
                                            " file (JSON)");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(Errc::not_found, "cannot open " + named + ": " + std::strerror(errno), errno);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return fail(Errc::io_error, "cannot read " + named, errno);
  return buffer.str();
}

}  // namespace vgpu::files
