import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class ExchangeTokenRequestDto {
  @ApiProperty({
    description:
      "The identity provider's access token (Supabase upstream). With PHONE_AUTH=dev: any email, or any JWT with an email claim, unchecked",
    example: 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9...',
  })
  @IsString()
  @IsNotEmpty({ message: 'supabaseToken is required' })
  @MaxLength(8192)
  supabaseToken!: string;
}

export class ExchangeTokenResponseDto {
  @ApiProperty({ description: 'Core token: Bearer on /api/client/*, Authorization on /glasses-ws' })
  coreToken!: string;
}
