/// @file
/// @brief vgpu::sim::CsvTable: a small CSV reader for trace files, with errors that name the
/// file and line.
///
/// Columns are found by header name, so files with extra or reordered columns read the same.
/// Fields may be quoted ("a,b", "" for a quote). Blank lines are skipped; a trailing CR (files
/// written on Windows) is dropped. Pure computation apart from read_csv(); no dependencies.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "vgpu/error.hpp"

namespace vgpu::sim {

/// @p text without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

/// A CSV file read into memory: the header and the data rows, each with its line number.
struct CsvTable {
  std::string source;                          ///< File name (or a label) for messages.
  std::vector<std::string> header;             ///< Column names, as written.
  std::vector<std::vector<std::string>> rows;  ///< Data rows, one field per header column.
  std::vector<std::size_t> lines;              ///< Line number (1-based) of each row.

  /// The index of column @p name, or an error naming the file, the columns it has and
  /// @p what_file (e.g. "an openb pod list") so the user can tell a wrong file from a bad one.
  [[nodiscard]] Result<std::size_t> column(std::string_view name,
                                           std::string_view what_file) const {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    std::string have;
    for (const auto& h : header)
      have += (have.empty() ? "" : ",") + h;
    return fail(Errc::invalid_argument,
                source + ":1: no column \"" + std::string(name) + "\" in the header (" + have +
                    "); give " + std::string(what_file) + " with a header line naming its columns");
  }

  /// "file:line" of row @p row, for messages.
  [[nodiscard]] std::string where(std::size_t row) const {
    return source + ":" + std::to_string(lines[row]);
  }
};

/// Parses CSV @p text; @p source names it in messages. The first non-blank line is the header.
/// Fails on an empty text, an unterminated quote, or a row whose field count differs from the
/// header's.
inline Result<CsvTable> parse_csv(std::string_view text, std::string source) {
  CsvTable table;
  table.source = std::move(source);
  std::size_t line = 1, pos = 0;
  bool have_header = false;
  while (pos < text.size()) {
    const std::size_t start_line = line;
    std::vector<std::string> fields(1);
    bool quoted = false, any = false;
    for (; pos < text.size(); ++pos) {
      const char c = text[pos];
      if (quoted) {
        if (c == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') {
            fields.back() += '"';
            ++pos;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line;
          fields.back() += c;
        }
        continue;
      }
      if (c == '\n') break;
      if (c == '\r' && (pos + 1 == text.size() || text[pos + 1] == '\n')) continue;
      any = true;
      if (c == '"')
        quoted = true;
      else if (c == ',')
        fields.emplace_back();
      else
        fields.back() += c;
    }
    if (quoted)
      return fail(Errc::invalid_argument, table.source + ":" + std::to_string(start_line) +
                                              ": a quoted field is not closed; end it with \"");
    if (pos < text.size()) {
      ++pos;  // the newline
      ++line;
    }
    if (!any) continue;  // blank line
    if (!have_header) {
      for (auto& f : fields)
        f = std::string(trim(f));
      table.header = std::move(fields);
      have_header = true;
      continue;
    }
    if (fields.size() != table.header.size())
      return fail(Errc::invalid_argument,
                  table.source + ":" + std::to_string(start_line) + ": " +
                      std::to_string(fields.size()) + " fields, but the header has " +
                      std::to_string(table.header.size()) +
                      " columns; every row needs one value per column (quote values with commas)");
    table.rows.push_back(std::move(fields));
    table.lines.push_back(start_line);
  }
  if (!have_header)
    return fail(Errc::invalid_argument,
                table.source +
                    ": the file is empty; expected a header line naming the columns "
                    "and one line per record");
  return table;
}

/// Reads and parses the CSV file at @p path (Errc::not_found when it cannot be opened).
inline Result<CsvTable> read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return fail(Errc::not_found,
                "cannot open " + path + ": " + std::generic_category().message(err) +
                    "; check the path (relative paths start from the current directory)",
                err);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(Errc::io_error, "cannot read " + path);
  return parse_csv(text.str(), path);
}

/// Parses @p field as a whole number in [@p min, @p max]; the error names @p table's file,
/// row @p row and column @p column.
inline Result<std::uint64_t> csv_number(const CsvTable& table, std::size_t row, std::size_t column,
                                        std::uint64_t min, std::uint64_t max) {
  std::string_view field = trim(table.rows[row][column]);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  const bool whole = ec == std::errc{} && end == field.data() + field.size() && !field.empty();
  if (!whole || value < min || value > max)
    return fail(Errc::invalid_argument, table.where(row) + ": " + table.header[column] + " is \"" +
                                            std::string(field) +
                                            "\"; expected a whole number from " +
                                            std::to_string(min) + " to " + std::to_string(max));
  return value;
}

}  // namespace vgpu::sim
