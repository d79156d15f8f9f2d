// fingerprint_schema.ipp with one field of message Add retyped (std::int64_t -> std::int32_t); nothing else differs.
#define MESH_FP_FIELD_TYPE std::int32_t
#include "fingerprint_schema.ipp"

std::uint64_t fingerprint_with_retyped_field() { return mesh::wire::fingerprint_v<fp::schema>; }
