# Writes mesh.pc from cmake/mesh.pc.in at install time (included by the install script, where
# CMAKE_INSTALL_PREFIX is the prefix being installed to). Set by the caller: MESH_PC_IN,
# MESH_PC_OUT, PROJECT_VERSION, PROJECT_DESCRIPTION, MESH_PC_INCLUDEDIR (relative or absolute).
set(MESH_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${MESH_PC_INCLUDEDIR}")
  set(MESH_PC_INCLUDEDIR_ENTRY "${MESH_PC_INCLUDEDIR}")
else()
  # Relative to ${prefix}, so that pkg-config --define-prefix or --define-variable=prefix=...
  # can point the file at a copied tree (tests/package/debian_package_test.sh does).
  set(MESH_PC_INCLUDEDIR_ENTRY "\${prefix}/${MESH_PC_INCLUDEDIR}")
endif()
configure_file("${MESH_PC_IN}" "${MESH_PC_OUT}" @ONLY)
