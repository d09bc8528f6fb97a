{
  "targets": [
    {
      "target_name": "setns",
      "sources": ["native/setns.c"]
    }
  ]
}
