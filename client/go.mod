module github.com/swarmmq/swarmmq/client

go 1.26

require (
	github.com/stretchr/testify v1.11.1
	github.com/swarmmq/swarmmq v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// The client lives in the SwarmMQ repository beside the node: its wire
// codec (frame), routing hash (route) and sealing (seal) come from the
// root module, at the same commit.
replace github.com/swarmmq/swarmmq => ../
