# Helpers for mesh's doctest executables: one ctest entry per test case, each with labels and a
# timeout. Included by tests/CMakeLists.txt; usable from every tests/<layer>/ and examples/.
#
#   mesh_add_doctest(<target> SOURCES a.cpp b.cpp [LABELS unit ...] [TIMEOUT seconds]
#                    [LIBRARIES ...] [DEFINITIONS ...] [PROPERTIES name value ...])
#
# The target links mesh::mesh, the private warning/sanitizer flags (mesh_dev_flags) and a shared
# doctest main (do not define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN in test sources).

include_guard(GLOBAL)

find_package(doctest CONFIG REQUIRED)

# Debian's doctest-dev ships doctest_discover_tests next to its config file.
set(MESH_DOCTEST_DISCOVER OFF)
if(EXISTS "${doctest_DIR}/doctest.cmake")
  include("${doctest_DIR}/doctest.cmake")
  set(MESH_DOCTEST_DISCOVER ON)
endif()

if(NOT TARGET mesh_doctest_main)
  file(WRITE "${CMAKE_BINARY_DIR}/mesh_doctest_main.cpp"
    "#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN\n#include <doctest/doctest.h>\n")
  add_library(mesh_doctest_main STATIC "${CMAKE_BINARY_DIR}/mesh_doctest_main.cpp")
  target_link_libraries(mesh_doctest_main PUBLIC doctest::doctest PRIVATE mesh_dev_flags)
endif()

set(MESH_TEST_DEFAULT_TIMEOUT 60 CACHE STRING "Default per-test-case timeout in seconds")

function(mesh_add_doctest target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "SOURCES;LABELS;LIBRARIES;DEFINITIONS;PROPERTIES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "mesh_add_doctest(${target}): SOURCES is required")
  endif()
  if(NOT arg_LABELS)
    set(arg_LABELS unit)
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT ${MESH_TEST_DEFAULT_TIMEOUT})
  endif()
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE mesh::mesh mesh_doctest_main mesh_dev_flags ${arg_LIBRARIES})
  if(arg_DEFINITIONS)
    target_compile_definitions(${target} PRIVATE ${arg_DEFINITIONS})
  endif()
  mesh_discover_doctests(${target} LABELS ${arg_LABELS} TIMEOUT ${arg_TIMEOUT} PROPERTIES ${arg_PROPERTIES})
endfunction()

# Records that building `target` is needed to run the tests carrying `label`. The top-level
# CMakeLists.txt turns each label into an aggregate target mesh_label_<label> (for example
# mesh_label_unit, mesh_label_tsan), which scripts/test.sh builds in its sanitizer trees instead
# of everything. mesh_add_doctest/mesh_discover_doctests call it; call it yourself for a test
# that runs an executable registered with plain add_test().
function(mesh_label_target target)
  foreach(label IN LISTS ARGN)
    set_property(GLOBAL APPEND PROPERTY MESH_LABEL_TARGETS_${label} ${target})
    set_property(GLOBAL APPEND PROPERTY MESH_TEST_LABELS ${label})
  endforeach()
endfunction()

# Registers one ctest entry per doctest test case of an existing executable target.
function(mesh_discover_doctests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "LABELS;PROPERTIES;SOURCES")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT ${MESH_TEST_DEFAULT_TIMEOUT})
  endif()
  mesh_label_target(${target} ${arg_LABELS})
  if(MESH_DOCTEST_DISCOVER)
    # Asks the built executable for its test cases (--list-test-cases) after each build. The
    # properties are set by a second include file over the discovered list, because
    # doctest_discover_tests' PROPERTIES cannot carry a list value such as "unit;tsan".
    doctest_discover_tests(${target} TEST_LIST mesh_doctests_${target})
    set(props_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
    set(props "")
    foreach(p IN LISTS arg_PROPERTIES)
      string(APPEND props " [==[${p}]==]")
    endforeach()
    file(WRITE "${props_file}"
      "if(mesh_doctests_${target})\n"
      "  set_tests_properties(\${mesh_doctests_${target}} PROPERTIES\n"
      "    LABELS [==[${arg_LABELS}]==] TIMEOUT ${arg_TIMEOUT}${props})\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${props_file}")
  else()
    # Fallback: read TEST_CASE("...") names from the sources at configure time.
    if(NOT arg_SOURCES)
      get_target_property(arg_SOURCES ${target} SOURCES)
    endif()
    foreach(src IN LISTS arg_SOURCES)
      if(NOT IS_ABSOLUTE "${src}")
        set(src "${CMAKE_CURRENT_SOURCE_DIR}/${src}")
      endif()
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
      file(STRINGS "${src}" lines REGEX "TEST_CASE[ \t]*\\([ \t]*\"")
      foreach(line IN LISTS lines)
        string(REGEX REPLACE ".*TEST_CASE[ \t]*\\([ \t]*\"([^\"]*)\".*" "\\1" name "${line}")
        string(REPLACE "," "\\," filter "${name}")
        add_test(NAME "${name}" COMMAND ${target} "--test-case=${filter}")
        set_tests_properties("${name}" PROPERTIES LABELS "${arg_LABELS}" TIMEOUT ${arg_TIMEOUT} ${arg_PROPERTIES})
      endforeach()
    endforeach()
  endif()
endfunction()
