# The same job for mitmdump, for comparing results and speed (see bench/ and test/interop/).
#   mitmdump -q -nr fixtures/sample.mitm -s examples/add_header.py -w out.mitm
def response(flow):
    flow.response.headers["newheader"] = "foo"
