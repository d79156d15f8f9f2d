# Runs one package test (cmake -P). Variables:
#   MODE            install | subdirectory | plain | pkgconfig
#   MESH_SOURCE_DIR, MESH_BUILD_DIR, CONSUMER_DIR, WORK_DIR, CXX, GENERATOR, MESH_VERSION
# install:      cmake --install the build tree into WORK_DIR/prefix, then build the consumer with
#               find_package(mesh CONFIG REQUIRED) against that prefix only, and run it.
# subdirectory: build the consumer with add_subdirectory(<mesh source>) and run it; mesh's
#               include dir reaches the consumer as -isystem and mesh generates no install rules.
# plain:        the no-CMake contract: g++ -std=c++20 -I<repo>/include main.cpp -lzmq -lpthread.
# pkgconfig:    cmake --install into WORK_DIR/prefix, then
#               g++ -std=c++20 main.cpp $(pkg-config --cflags --libs mesh) with only that prefix's
#               share/pkgconfig on PKG_CONFIG_PATH.

string(REGEX MATCH "^[0-9]+\\.[0-9]+" wanted_version "${MESH_VERSION}")

# Installs the build tree into WORK_DIR/prefix and checks the files a user relies on.
function(install_mesh prefix)
  run("${CMAKE_COMMAND}" --install "${MESH_BUILD_DIR}" --prefix "${prefix}")
  foreach(f include/mesh/mesh.hpp include/mesh/core/schema.hpp share/cmake/mesh/meshConfig.cmake
            share/cmake/mesh/meshConfigVersion.cmake share/cmake/mesh/meshTargets.cmake
            share/pkgconfig/mesh.pc share/doc/mesh/LICENSE)
    if(NOT EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "the install lacks ${f}")
    endif()
  endforeach()
endfunction()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "command failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(MODE STREQUAL "install")
  set(prefix "${WORK_DIR}/prefix")
  install_mesh("${prefix}")
  # Only the temporary prefix may provide mesh: never the source or build tree.
  run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DMESH_CONSUMER_MODE=find_package
      "-DMESH_WANTED_VERSION=${wanted_version}")
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
  set(app "${WORK_DIR}/build/app")
elseif(MODE STREQUAL "subdirectory")
  run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release -DMESH_CONSUMER_MODE=add_subdirectory
      "-DMESH_SOURCE_DIR=${MESH_SOURCE_DIR}" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
  # As a subproject, mesh builds none of its tests, examples or benchmarks, and installs nothing.
  if(EXISTS "${WORK_DIR}/build/mesh/tests")
    message(FATAL_ERROR "mesh added with add_subdirectory configured its tests")
  endif()
  file(READ "${WORK_DIR}/build/mesh/cmake_install.cmake" mesh_install_script)
  if(mesh_install_script MATCHES "meshConfig|mesh-targets|/include/mesh")
    message(FATAL_ERROR "mesh added with add_subdirectory generated install rules (MESH_INSTALL should be OFF)")
  endif()
  # Its headers are a system include of the consumer, so the consumer's warnings skip them.
  file(READ "${WORK_DIR}/build/compile_commands.json" commands)
  string(FIND "${commands}" "-isystem ${MESH_SOURCE_DIR}/include" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the consumer does not see mesh's include dir as -isystem:\n${commands}")
  endif()
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
  set(app "${WORK_DIR}/build/app")
elseif(MODE STREQUAL "plain")
  set(app "${WORK_DIR}/app")
  run("${CXX}" -std=c++20 "-I${MESH_SOURCE_DIR}/include" "${CONSUMER_DIR}/main.cpp" -o "${app}" -lzmq -lpthread)
elseif(MODE STREQUAL "pkgconfig")
  find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf REQUIRED)
  set(prefix "${WORK_DIR}/prefix")
  install_mesh("${prefix}")
  # Only the temporary prefix may provide mesh.pc (libzmq.pc comes from the system's default path).
  set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
  run("${PKG_CONFIG_EXECUTABLE}" --modversion mesh)
  string(STRIP "${last_output}" pc_version)
  if(NOT pc_version STREQUAL MESH_VERSION)
    message(FATAL_ERROR "mesh.pc says version '${pc_version}', the build is ${MESH_VERSION}")
  endif()
  run("${PKG_CONFIG_EXECUTABLE}" --cflags --libs mesh)
  string(STRIP "${last_output}" pc_flags)
  message(STATUS "pkg-config --cflags --libs mesh: ${pc_flags}")
  foreach(want "-I${prefix}/include" "-lzmq" "-lpthread")
    string(FIND " ${pc_flags} " " ${want} " at)
    if(at EQUAL -1)
      message(FATAL_ERROR "pkg-config --cflags --libs mesh lacks ${want}: ${pc_flags}")
    endif()
  endforeach()
  if(pc_flags MATCHES "-std=")
    message(FATAL_ERROR "mesh.pc must not choose the language standard: ${pc_flags}")
  endif()
  separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
  set(app "${WORK_DIR}/app")
  run("${CXX}" -std=c++20 "${CONSUMER_DIR}/main.cpp" -o "${app}" ${pc_args})
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

run("${app}")
if(NOT last_output MATCHES "consumer ok")
  message(FATAL_ERROR "unexpected output of the consumer: ${last_output}")
endif()
message(STATUS "${last_output}")
