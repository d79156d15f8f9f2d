# Runs one package test (cmake -P). Variables:
#   MODE            install | subdirectory | plain
#   MESH_SOURCE_DIR, MESH_BUILD_DIR, CONSUMER_DIR, WORK_DIR, CXX, GENERATOR
# install:      cmake --install the build tree into WORK_DIR/prefix, then build the consumer with
#               find_package(mesh CONFIG REQUIRED) against that prefix only, and run it.
# subdirectory: build the consumer with add_subdirectory(<mesh source>) and run it.
# plain:        the no-CMake contract: g++ -std=c++20 -I<repo>/include main.cpp -lzmq -lpthread.

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
  run("${CMAKE_COMMAND}" --install "${MESH_BUILD_DIR}" --prefix "${prefix}")
  foreach(f include/mesh/mesh.hpp include/mesh/core/schema.hpp share/cmake/mesh/meshConfig.cmake
            share/cmake/mesh/meshConfigVersion.cmake share/cmake/mesh/meshTargets.cmake)
    if(NOT EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "the install lacks ${f}")
    endif()
  endforeach()
  # Only the temporary prefix may provide mesh: never the source or build tree.
  run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DMESH_CONSUMER_MODE=find_package)
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
  set(app "${WORK_DIR}/build/app")
elseif(MODE STREQUAL "subdirectory")
  run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release -DMESH_CONSUMER_MODE=add_subdirectory
      "-DMESH_SOURCE_DIR=${MESH_SOURCE_DIR}")
  # As a subproject, mesh builds none of its tests, examples or benchmarks.
  if(EXISTS "${WORK_DIR}/build/mesh/tests")
    message(FATAL_ERROR "mesh added with add_subdirectory configured its tests")
  endif()
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
  set(app "${WORK_DIR}/build/app")
elseif(MODE STREQUAL "plain")
  set(app "${WORK_DIR}/app")
  run("${CXX}" -std=c++20 "-I${MESH_SOURCE_DIR}/include" "${CONSUMER_DIR}/main.cpp" -o "${app}" -lzmq -lpthread)
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

run("${app}")
if(NOT last_output MATCHES "consumer ok")
  message(FATAL_ERROR "unexpected output of the consumer: ${last_output}")
endif()
message(STATUS "${last_output}")
