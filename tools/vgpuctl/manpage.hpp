// vgpuctl's man page, generated from its command-line definition (`vgpuctl --man`), so that
// the page lists exactly the commands and options the program accepts.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace vgpuctl {

/// The man page (roff, section 1) of @p app, a fully built vgpuctl command line.
std::string render_man_page(const CLI::App& app, std::string_view version);

}  // namespace vgpuctl
