# Compile-fail harness: run as `cmake -DCXX=... -DSOURCE=... [-DINCLUDES=a|b] [-DDEFINES=X|Y=1]
# [-DFLAGS=f|g] -P check.cmake`.
#
# The first line of SOURCE says what to expect:
#   // expect: mesh: <text>     the compile must fail, and
#                                (1) the output contains <text> (which must start with "mesh:"),
#                                (2) g++: exactly one line of the output matches "error:" (the
#                                    firewall: one error per misuse) and it is the `mesh:`
#                                    static_assert carrying <text>;
#                                    clang: the first "error:" line is that static_assert (clang
#                                    goes on evaluating the constant expressions that depend on the
#                                    failed check, so more errors may follow it);
#   // expect-success: ...      positive control: the compile must succeed with no error or warning.
# Further `// culprit: <text>` lines (anywhere in the file) must each appear in the output: they
# check that the diagnostic names the actor (fixed_string NTTP) and the offending type.
cmake_minimum_required(VERSION 3.20)

foreach(var CXX SOURCE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: -D${var}=... is required")
  endif()
endforeach()

# Lists arrive '|'-separated so that they survive add_test's argument splitting.
foreach(var INCLUDES DEFINES FLAGS)
  string(REPLACE "|" ";" ${var} "${${var}}")
endforeach()

file(STRINGS "${SOURCE}" first_line LIMIT_COUNT 1)
file(STRINGS "${SOURCE}" culprits REGEX "^// culprit: ")
list(TRANSFORM culprits REPLACE "^// culprit: " "")

if(first_line MATCHES "^// expect-success")
  set(mode success)
elseif(first_line MATCHES "^// expect: (.+)$")
  set(mode fail)
  string(STRIP "${CMAKE_MATCH_1}" expect)
  if(NOT expect MATCHES "^mesh:")
    message(FATAL_ERROR "${SOURCE}: the `// expect:` text must start with \"mesh:\", got: ${expect}")
  endif()
else()
  message(FATAL_ERROR "${SOURCE}: first line must be `// expect: mesh: ...` or `// expect-success: ...`")
endif()

set(args -std=c++20 -fsyntax-only -fdiagnostics-color=never -Wall -Wextra ${FLAGS})
foreach(dir IN LISTS INCLUDES)
  if(NOT dir STREQUAL "")
    list(APPEND args "-I${dir}")
  endif()
endforeach()
foreach(def IN LISTS DEFINES)
  if(NOT def STREQUAL "")
    list(APPEND args "-D${def}")
  endif()
endforeach()

# g++ or clang: they word a failed static_assert differently and clang reports follow-up errors.
execute_process(COMMAND "${CXX}" --version OUTPUT_VARIABLE cxx_version ERROR_QUIET)
if(cxx_version MATCHES "clang")
  set(is_clang TRUE)
else()
  set(is_clang FALSE)
endif()

# Untranslated, uncolored diagnostics, so that "error:" is what we count.
set(ENV{LC_ALL} C)
set(ENV{LANG} C)
unset(ENV{GCC_COLORS})

execute_process(
  COMMAND "${CXX}" ${args} "${SOURCE}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  TIMEOUT 120)

# One list element per output line: semicolons in diagnostics are swapped for a placeholder so that
# they do not split lines (restored in what is printed).
string(REPLACE ";" "<semicolon>" escaped "${out}")
string(REPLACE "\n" ";" lines "${escaped}")
set(error_lines "")
set(warning_lines "")
foreach(line IN LISTS lines)
  if(line MATCHES "error:")
    list(APPEND error_lines "${line}")
  elseif(line MATCHES "warning:")
    list(APPEND warning_lines "${line}")
  endif()
endforeach()
list(LENGTH error_lines n_errors)
list(LENGTH warning_lines n_warnings)

set(problems "")
if(mode STREQUAL "success")
  if(NOT rc EQUAL 0)
    list(APPEND problems "the compiler failed (exit ${rc}), but this file must compile")
  endif()
  if(NOT n_errors EQUAL 0 OR NOT n_warnings EQUAL 0)
    list(APPEND problems "expected a clean compile, got ${n_errors} error line(s) and ${n_warnings} warning line(s)")
  endif()
else()
  if(rc EQUAL 0)
    list(APPEND problems "the file compiled, but it must fail with: ${expect}")
  endif()
  string(FIND "${out}" "${expect}" at)
  if(at EQUAL -1)
    list(APPEND problems "the output does not contain the expected text: ${expect}")
  endif()
  if(is_clang)
    # clang 14: error: static_assert failed due to requirement '...' "mesh: ..." (quotes in the
    # text escaped); clang 16+: error: static assertion failed due to requirement '...': mesh: ...
    if(n_errors EQUAL 0)
      list(APPEND problems "expected the `mesh:` static_assert as the first 'error:' line, got no error line")
    else()
      list(GET error_lines 0 the_error)
      string(REPLACE "<semicolon>" ";" the_error "${the_error}")
      string(REPLACE "\"" "\\\"" expect_escaped "${expect}")
      string(FIND "${the_error}" "${expect}" at_line)
      if(at_line EQUAL -1)
        string(FIND "${the_error}" "${expect_escaped}" at_line)
      endif()
      if(NOT the_error MATCHES "static(_assert| assertion) failed" OR at_line EQUAL -1)
        list(APPEND problems "the first error is not the `mesh:` static_assert with the expected text")
      endif()
    endif()
  elseif(NOT n_errors EQUAL 1)
    list(APPEND problems "expected exactly one line matching 'error:', got ${n_errors}")
  else()
    string(REPLACE "<semicolon>" ";" the_error "${error_lines}")
    string(FIND "${the_error}" "static assertion failed: mesh:" at_sa)
    string(FIND "${the_error}" "${expect}" at_line)
    if(at_sa EQUAL -1 OR at_line EQUAL -1)
      list(APPEND problems "the single error is not the `mesh:` static_assert with the expected text")
    endif()
  endif()
endif()
# Culprits are written as g++ prints them. clang spells types differently (no std::__cxx11::,
# `long *` for `long int*`, no `[with T = ...]` lists) and clang 14 prints a fixed_string NTTP as
# its char codes ({{99, 0}} for "c"), so on clang each name in the culprit (identifier or string
# literal; not the namespaces and fixed_string around them) must appear in the output, a string
# literal as itself or as clang 14's char codes. A `[with ...]` culprit is g++'s notation only.
foreach(c IN LISTS culprits)
  if(NOT is_clang)
    string(FIND "${out}" "${c}" at)
    if(at EQUAL -1)
      list(APPEND problems "the diagnostic does not name the culprit: ${c}")
    endif()
    continue()
  endif()
  if(c MATCHES "^\\[with ")
    continue()
  endif()
  string(REPLACE "long int" "long" c_clang "${c}")
  string(REGEX MATCHALL "\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_]*" words "${c_clang}")
  foreach(w IN LISTS words)
    if(w MATCHES "^(std|__cxx11|mesh|fixed_string)$")
      continue()
    endif()
    string(FIND "${out}" "${w}" at)
    if(at EQUAL -1 AND w MATCHES "^\"(.*)\"$")
      set(codes "")
      string(LENGTH "${CMAKE_MATCH_1}" n)
      set(text "${CMAKE_MATCH_1}")
      if(n GREATER 0)
        math(EXPR last "${n} - 1")
        foreach(i RANGE ${last})
          string(SUBSTRING "${text}" ${i} 1 ch)
          string(HEX "${ch}" hex)
          math(EXPR code "0x${hex}" OUTPUT_FORMAT DECIMAL)
          string(APPEND codes "${code}, ")
        endforeach()
      endif()
      string(FIND "${out}" "{{${codes}0}}" at)
    endif()
    if(at EQUAL -1)
      list(APPEND problems "the diagnostic does not name the culprit: ${c} (clang: ${w} is missing)")
    endif()
  endforeach()
endforeach()

get_filename_component(name "${SOURCE}" NAME)
if(problems)
  list(JOIN problems "\n  - " text)
  message("---- compiler output for ${name} ----\n${out}---- end of compiler output ----")
  message(FATAL_ERROR "${name}:\n  - ${text}")
endif()
if(mode STREQUAL "success")
  message(STATUS "${name}: compiles cleanly (positive control)")
else()
  list(GET error_lines 0 only_error)
  string(REPLACE "<semicolon>" ";" only_error "${only_error}")
  if(is_clang)
    message(STATUS "${name}: the first of ${n_errors} error(s) is the expected one:\n${only_error}")
  else()
    message(STATUS "${name}: one error, as expected:\n${only_error}")
  endif()
endif()
