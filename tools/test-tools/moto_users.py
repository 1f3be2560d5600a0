"""Creates the bucket and the IAM users of the bundle publish/pull tests on a moto server started with
INITIAL_NO_AUTH_ACTION_COUNT=9 (the nine IAM calls below; every later request is authenticated).
Prints {"bucket", "publisher", "reader", "nomanifest"} as JSON, each user with its access key pair.
The policies are the ones docs/deploy-eks.md gives (reader = the workers' role)."""
import json
import sys

import boto3

endpoint, bucket = sys.argv[1], sys.argv[2]
anon = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
iam = boto3.client("iam", **anon)
arn = f"arn:aws:s3:::{bucket}"
# moto checks ListObjectsV2 and HEAD requests as s3:ListObjectsV2 / s3:HeadObject, where AWS checks
# s3:ListBucket / s3:GetObject: each policy below grants both spellings.
LIST = ["s3:ListBucket", "s3:ListObjectsV2"]
GET = ["s3:GetObject", "s3:HeadObject"]
policies = {
    "publisher": [
        {"Effect": "Allow", "Action": ["s3:CreateBucket", *LIST], "Resource": arn},
        {"Effect": "Allow", "Action": [*GET, "s3:PutObject", "s3:DeleteObject"], "Resource": f"{arn}/*"},
    ],
    "reader": [
        {"Effect": "Allow", "Action": LIST, "Resource": arn},
        {"Effect": "Allow", "Action": GET, "Resource": f"{arn}/*"},
    ],
    # May upload everything but manifest.json: shows the publisher writes the manifest last.
    "nomanifest": [
        {"Effect": "Allow", "Action": LIST, "Resource": arn},
        {"Effect": "Allow", "Action": [*GET, "s3:PutObject"], "Resource": f"{arn}/*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{arn}/*/manifest.json"},
    ],
}
out = {"bucket": bucket}
for user, statements in policies.items():
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="bundles",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    out[user] = {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=out["publisher"]["accessKeyId"],
    aws_secret_access_key=out["publisher"]["secretAccessKey"],
)
s3.create_bucket(Bucket=bucket)
print(json.dumps(out))
