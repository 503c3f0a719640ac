# Fails when a Catch2 test name contains ';'. catch_discover_tests() registers one ctest test
# per name and splits the names it lists at ';' (a CMake list separator): such a case would be
# registered as two tests that run nothing and still report Passed.
# Usage: cmake -DROOT=<source dir> -P check_test_names.cmake
file(GLOB_RECURSE sources "${ROOT}/tests/*.cpp")
set(bad "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "(TEST_CASE|SCENARIO|TEST_CASE_METHOD)\\(")
  foreach(line IN LISTS lines)
    if(line MATCHES "(TEST_CASE|SCENARIO|TEST_CASE_METHOD)\\([^\"]*\"[^\"]*;")
      file(RELATIVE_PATH rel "${ROOT}" "${source}")
      string(APPEND bad "  ${rel}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "Catch2 test names must not contain ';' (ctest would split them into "
                      "empty tests that pass); rename:\n${bad}")
endif()
message(STATUS "no Catch2 test name contains ';' (${ROOT}/tests)")
