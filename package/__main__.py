"""dicomstream's component provider: the components of `dicomstream.components`, for every language.

The SDK's analyzer infers the schema from the components' annotations; `schema.json` beside this
file is that schema, committed so that reviews see every change to the public interface
(`make schema` writes it, a test fails when it is stale).
"""

from pulumi.provider.experimental import component_provider_host

import dicomstream
from dicomstream.components import COMPONENTS

if __name__ == "__main__":
    component_provider_host(COMPONENTS, name="dicomstream", version=dicomstream.__version__)
