#include "manpage.hpp"

#include <string>
#include <vector>

namespace vgpuctl {
namespace {

// Escapes text for roff: backslashes, hyphens (so they are not hyphenation points), and a
// leading dot or quote that would start a request.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

// "--gpu ADDRESS", "--count N", "file": an option as the synopsis shows it.
std::string option_synopsis(const CLI::Option& opt) {
  if (opt.get_positional()) return roff(opt.get_name());
  std::string names;
  for (const auto& s : opt.get_snames())
    names += (names.empty() ? "\\-" : ", \\-") + roff(s);
  for (const auto& l : opt.get_lnames())
    names += (names.empty() ? "\\-\\-" : ", \\-\\-") + roff(l);
  std::string out = "\\fB" + names + "\\fR";
  if (opt.get_type_size() != 0) out += " \\fI" + roff(opt.get_type_name()) + "\\fR";
  return out;
}

void options_section(std::string& out, const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_name() == "--help" || opt->get_name() == "-h,--help" || opt->check_lname("help"))
      continue;
    out += ".TP\n" + option_synopsis(*opt) + "\n";
    std::string desc(opt->get_description());
    if (opt->get_required()) desc += " (required)";
    if (opt->get_items_expected_max() > 1 && desc.find("repeatable") == std::string::npos)
      desc += " (repeatable)";
    out += roff(desc) + "\n";
  }
}

void command_section(std::string& out, const CLI::App& cmd, const std::string& prefix) {
  const std::string name = prefix.empty() ? cmd.get_name() : prefix + " " + cmd.get_name();
  out += ".SS " + roff(name) + "\n" + roff(cmd.get_description()) + "\n";
  std::string positionals;
  for (const CLI::Option* opt : cmd.get_options())
    if (opt->get_positional()) positionals += " \\fI" + roff(opt->get_name()) + "\\fR";
  out += ".PP\n\\fBvgpuctl\\fR [\\fIglobal options\\fR] \\fB" + roff(name) + "\\fR" + positionals +
         " [\\fIoptions\\fR]\n";
  options_section(out, cmd);
  for (const CLI::App* sub : cmd.get_subcommands([](const CLI::App*) { return true; }))
    command_section(out, *sub, name);
}

}  // namespace

std::string render_man_page(const CLI::App& app, std::string_view version) {
  std::string out;
  out += ".TH VGPUCTL 1 \"\" \"vgpu " + roff(version) + "\" \"vgpu manual\"\n";
  out += ".SH NAME\nvgpuctl \\- manage virtual GPUs on a GPU host\n";
  out +=
      ".SH SYNOPSIS\n\\fBvgpuctl\\fR [\\fIglobal options\\fR] \\fIcommand\\fR "
      "[\\fIoptions\\fR]\n";
  out += ".SH DESCRIPTION\n" + roff(app.get_description()) + "\n";
  out +=
      ".PP\nThis page is generated from vgpuctl's own command-line definition "
      "(\\fBvgpuctl \\-\\-man\\fR). The guide with examples is docs/vgpuctl.md.\n";
  out += ".SH GLOBAL OPTIONS\nGlobal options may come before or after the command.\n";
  options_section(out, app);
  out += ".SH COMMANDS\n";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    command_section(out, *sub, "");
  out += R"(.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
Refused: the request is valid but cannot be done now (no capacity, busy, conflict).
.TP
.B 2
Bad input: a malformed argument or file; the message names it.
.TP
.B 3
Internal or I/O error.
.SH ENVIRONMENT
.TP
.B VGPU_LEDGER
The host ledger file, when \-\-ledger is not given (not used for the built\-in simulated host).
.TP
.B VGPU_SYSFS_ROOT
Where the kernel backends read sysfs (default /); tests point it at an emulated tree.
.SH FILES
.TP
.I /run/vgpu/ledger
The host\-wide ledger every process on the host shares.
.TP
.I /var/lib/vgpu/definitions.json
The vGPUs \fBapply\fR defined, which \fBrestore\fR re\-creates after a reboot.
.SH SEE ALSO
.BR mdevctl (8),
.BR virsh (1)
)";
  return out;
}

}  // namespace vgpuctl
