compile_title = "Compiling one TU with <mesh/mesh.hpp>, median of runs, whiskers min–max"
