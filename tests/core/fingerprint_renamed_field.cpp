// fingerprint_schema.ipp with one field of message Add renamed (amount -> delta); nothing else differs.
#define MESH_FP_FIELD_NAME delta
#include "fingerprint_schema.ipp"

std::uint64_t fingerprint_with_renamed_field() { return mesh::wire::fingerprint_v<fp::schema>; }
