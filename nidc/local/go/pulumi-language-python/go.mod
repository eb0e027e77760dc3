module nidc.local/pulumi-language-python

go 1.26.6
